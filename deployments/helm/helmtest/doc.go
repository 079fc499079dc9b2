// Package helmtest renders the Helm chart in deployments/helm/inthub with the
// Helm SDK, as `helm template` and `helm lint` would, and checks every object
// it makes against the Kubernetes API types and the chart's own rules (probes,
// resources, a non-root read-only container, no "latest" image, a disruption
// budget and a network policy for every service).
//
// It is a module of its own so that the Helm SDK and the Kubernetes client
// libraries stay out of the services' modules and binaries: no service
// imports it, and it has nothing but tests.
package helmtest
