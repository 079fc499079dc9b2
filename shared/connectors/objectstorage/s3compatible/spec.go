// Package s3compatible is the object-storage provider for any server that
// speaks the S3 API (MinIO, Ceph RGW, VersityGW, AWS S3, …), reached through
// a custom endpoint with path-style addressing. It runs the three health
// checks and nothing else: object storage takes part in the
// live catalog and in health/test flows but does not advertise discovery.
//
// Credentials: the integration's credentialRef points at a secret holding
// keys accessKeyId and secretAccessKey (optionally sessionToken); a basic
// credential (username = access key id, password = secret access key) is
// accepted too. Without a credentialRef, requests are sent unsigned
// (anonymous access).
package s3compatible

import "github.com/stella-ops/inthub/shared/connectors/objectstorage/s3compatible/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// DefaultRegion is the declaration's default region.
const DefaultRegion = spec.DefaultRegion
