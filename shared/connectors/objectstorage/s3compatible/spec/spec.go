// Package spec declares the S3-compatible object storage provider: its
// config fields and their rules, credentials and capabilities. It imports
// nothing heavy, so services that only validate or list providers link no
// implementation (here, the AWS SDK).
package spec

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "s3compatible"

// DefaultRegion is the region requests are signed for when none is set;
// most S3-compatible servers accept it whatever their own setting.
const DefaultRegion = "us-east-1"

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "S3Compatible",
	Description: "Any S3-compatible object store (MinIO, Ceph RGW, VersityGW, AWS S3) at a custom endpoint; health and test only.",
	Category:    connectors.CategoryObjectStorage,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.BaseURL,
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
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "An unsigned GET of the endpoint: any HTTP answer (S3 servers say 403 to anonymous requests) proves it is reachable.",
		contracts.CheckAuthentication: "Lists buckets with a signed request; a key scoped to one bucket that is refused the listing is judged by a HeadBucket of bucket. Without credentialRef it passes (requests go unsigned).",
		contracts.CheckFunctionality:  "Heads bucket (or lists buckets without one) and, with writeProbe, writes, reads back and deletes a small object.",
	},
	Capabilities: []connectors.Capability{connectors.CapCheck},
	Example: connectors.Example{
		Config:        map[string]any{"url": "https://minio.example.com:9000", "bucket": "release-artifacts"},
		CredentialRef: "vault://vault-1/minio/release#credentials",
	},
}
