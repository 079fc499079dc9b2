package contracts

// ConfigField describes one configuration field of a provider, as its spec
// declares it.
type ConfigField struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Required    bool     `json:"required"`
	Secret      bool     `json:"secret,omitempty"`
	Default     any      `json:"default,omitempty"`
	Enum        []string `json:"enum,omitempty"`
	Description string   `json:"description"`
}

// ProviderInfo is one entry of GET /api/v1/integrations/providers.
type ProviderInfo struct {
	ID                     string        `json:"id"`
	Name                   string        `json:"name"`
	Category               string        `json:"category"`
	Description            string        `json:"description"`
	Aliases                []string      `json:"aliases,omitempty"`
	IsTestOnly             bool          `json:"isTestOnly"`
	SupportsDiscovery      bool          `json:"supportsDiscovery"`
	SupportedResourceTypes []string      `json:"supportedResourceTypes"`
	CheckLevels            []string      `json:"checkLevels"`
	Capabilities           []string      `json:"capabilities"`
	CredentialTypes        []string      `json:"credentialTypes"`
	ConfigFields           []ConfigField `json:"configFields"`
}

// ProviderList is the body of GET /api/v1/integrations/providers.
type ProviderList struct {
	Items []ProviderInfo `json:"items"`
}
