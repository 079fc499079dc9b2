package bus

// PublishMsg exposes publishMsg to the package's external tests, which
// compare it with the JetStream client's PublishMsg on a real server.
var PublishMsg = publishMsg
