package catalog

import "github.com/nats-io/nats.go/jetstream"

// Bucket names. The manager is the only writer of BucketIntegrations and the
// health-scheduler of BucketHealth; either may create a bucket (with the
// same definition) so start order does not matter.
const (
	BucketIntegrations = "integrations"
	BucketHealth       = "health"
)

// IntegrationsBucket is the definition of the catalog's store of record.
func IntegrationsBucket(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      BucketIntegrations,
		Description: "Integration Hub catalog: integrations by <tenantId>.<integrationId>",
		History:     5,
		Replicas:    replicas,
		Storage:     jetstream.FileStorage,
	}
}

// HealthBucket is the definition of the health records' bucket.
func HealthBucket(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      BucketHealth,
		Description: "Integration Hub health records by <tenantId>.<integrationId>",
		History:     1,
		Replicas:    replicas,
		Storage:     jetstream.FileStorage,
	}
}
