// Package s3compatible is the object-storage provider for any server that
// speaks the S3 API (MinIO, Ceph RGW, VersityGW, AWS S3, …), reached through
// a custom endpoint with path-style addressing. It runs the three health
// checks and nothing else: as the spec says, object storage takes part in the
// live catalog and in health/test flows but does not advertise discovery.
//
// Credentials: the integration's credentialRef points at a secret holding
// keys accessKeyId and secretAccessKey (optionally sessionToken); a basic
// credential (username = access key id, password = secret access key) is
// accepted too. Without a credentialRef, requests are sent unsigned
// (anonymous access).
package s3compatible

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// DefaultRegion is the region requests are signed for when none is set;
// most S3-compatible servers accept it whatever their own setting.
const DefaultRegion = "us-east-1"

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          "s3compatible",
	Name:        "S3Compatible",
	Description: "Any S3-compatible object store (MinIO, Ceph RGW, VersityGW, AWS S3) at a custom endpoint; health and test only.",
	Category:    connectors.CategoryObjectStorage,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true,
			Description: "S3 endpoint, e.g. http://minio.stella-ops.local:9000; buckets are addressed path-style under it."},
		{Name: "region", Type: connectors.TypeString, Default: DefaultRegion, MaxLength: 64,
			Description: "Region requests are signed for."},
		{Name: "bucket", Type: connectors.TypeString, MaxLength: 63,
			Description: "Bucket the functionality check heads (and probes with writeProbe); without it the check lists buckets."},
		{Name: "writeProbe", Type: connectors.TypeBool, Default: false,
			Description: "Functionality check also writes, reads back and deletes a small object under .inthub-probe/ in bucket."},
	},
	CredentialTypes: []string{connectors.CredAPIKey, connectors.CredBasic},
	CheckLevels:     contracts.CheckTypes,
	Capabilities:    []connectors.Capability{connectors.CapCheck},
	New:             New,
}
