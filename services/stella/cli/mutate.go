package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/stella-ops/inthub/shared/contracts"
)

// inputFlags are the flags create and update share.
type inputFlags struct {
	name, description, endpoint, authref, configFile string
	labels, config                                   []string
}

func (f *inputFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.name, "name", "", "display name")
	fs.StringVar(&f.description, "description", "", "description")
	fs.StringVar(&f.endpoint, "endpoint", "", "the system's URL (sets config.url)")
	fs.StringVar(&f.authref, "authref", "", "credential reference, e.g. authref://vault/gitlab#access-token (sets credentialRef)")
	fs.StringArrayVar(&f.labels, "label", nil, "label key=value (repeatable)")
	fs.StringArrayVar(&f.config, "config", nil, "config field key=value, the value read as JSON when it parses (numbers, booleans, arrays), else as a string (repeatable)")
	fs.StringVar(&f.configFile, "config-file", "", "file holding config fields as a JSON or YAML object")
}

// configFields merges --config-file, then --config pairs, then --endpoint.
func (f *inputFlags) configFields(endpointSet bool) (map[string]any, error) {
	cfg := map[string]any{}
	if f.configFile != "" {
		fromFile, err := readConfigFile(f.configFile)
		if err != nil {
			return nil, err
		}
		cfg = fromFile
	}
	for _, pair := range f.config {
		key, raw, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, usageErr("--config takes key=value (an integration config field), got %q; to choose the CLI's own config file here, set STELLA_CONFIG", pair)
		}
		if key = strings.TrimSpace(key); key == "" {
			return nil, usageErr("--config %q has no key", pair)
		}
		cfg[key] = parseConfigValue(raw)
	}
	if endpointSet {
		cfg["url"] = f.endpoint
	}
	return cfg, nil
}

// parseConfigValue reads a --config value as JSON when it is JSON (42, true,
// ["a","b"], {"k":1}, null), else takes it as a plain string.
func parseConfigValue(raw string) any {
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err == nil {
		return v
	}
	return raw
}

// readConfigFile reads a JSON or YAML object.
func readConfigFile(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErr("--config-file: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err == nil && m != nil {
		return m, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil {
		if err == io.EOF {
			return nil, usageErr("--config-file %s is empty: it must hold a JSON or YAML object", path)
		}
		return nil, usageErr("--config-file %s is not a JSON or YAML object: %v", path, err)
	}
	if m == nil {
		return nil, usageErr("--config-file %s must hold a JSON or YAML object", path)
	}
	return m, nil
}

// parseLabels reads key=value pairs.
func parseLabels(pairs []string) (map[string]string, error) { return parseKeyValues("--label", pairs) }

// parseKeyValues reads the key=value pairs of a repeatable flag.
func parseKeyValues(flag string, pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageErr("%s takes key=value, got %q", flag, p)
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

func (a *app) newCreateCmd() *cobra.Command {
	var in inputFlags
	var category, provider string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an integration",
		Long: `Create an integration of a provider of the live catalog.

--provider is a provider id or alias from 'stella config integrations providers'
(the server resolves aliases). --type is the provider's category; when given it
must match, or nothing is created. --endpoint sets config.url and --authref sets
credentialRef. Config fields come from --config-file, then --config pairs, then
--endpoint, later ones winning.

Here --config means key=value; choose the CLI's config file with STELLA_CONFIG.`,
		Example: `  stella config integrations create --name local-gitlab --type scm --provider gitlabserver --endpoint http://gitlab.stella-ops.local:8929 --authref authref://vault/gitlab#access-token
  stella config integrations create --name local-minio --type objectstorage --provider s3compatible --endpoint http://minio.stella-ops.local:9000
  stella config integrations create --name hooks --provider webhook --endpoint https://hooks.example.com --label environment=production
  stella config integrations create --name fake-registry --provider inmemory --config 'repositories=["app-a","app-b"]' --config latencyMs=5`,
		Args: a.noArgs,
	}
	fs := cmd.Flags()
	in.register(fs)
	fs.StringVar(&category, "type", "", "the provider's category (registry, scm, notification, objectstorage, ...), checked against the catalog")
	fs.StringVar(&provider, "provider", "", "provider id or alias")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("provider")
	a.completeProviders(cmd, "provider")
	a.completeCategories(cmd, "type")
	cmd.RunE = a.action(func(cmd *cobra.Command, _ []string) error {
		if strings.TrimSpace(in.name) == "" {
			return usageErr("--name must not be empty")
		}
		provider = strings.ToLower(strings.TrimSpace(provider))
		if provider == "" {
			return usageErr("--provider must not be empty (see stella config integrations providers)")
		}
		labels, err := parseLabels(in.labels)
		if err != nil {
			return err
		}
		cfg, err := in.configFields(cmd.Flags().Changed("endpoint"))
		if err != nil {
			return err
		}
		if category != "" {
			if err := a.checkCategory(cmd, provider, category); err != nil {
				return err
			}
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		resp, it, err := c.Create(cmd.Context(), contracts.IntegrationInput{
			TypeID: provider, Name: in.name, Description: in.description,
			Config: cfg, CredentialRef: in.authref, Labels: labels,
		})
		if err != nil {
			return err
		}
		return a.emitIntegration(cmd.Context(), resp.body, it)
	})
	return cmd
}

// checkCategory refuses --type when the catalog knows the provider under
// another category. A provider the catalog does not know is left to the
// server, which answers UNKNOWN_PROVIDER.
func (a *app) checkCategory(cmd *cobra.Command, provider, category string) error {
	cat, err := a.loadProviders(cmd.Context())
	if err != nil {
		return err
	}
	info := cat.lookup(provider)
	if info != nil && !strings.EqualFold(info.Category, category) {
		return usageErr("--type %s does not match --provider %s: %s is a %s provider", category, provider, info.ID, info.Category)
	}
	return nil
}

func (a *app) newUpdateCmd() *cobra.Command {
	var in inputFlags
	var removeLabels []string
	var ifMatch string
	cmd := &cobra.Command{
		Use:   "update <integration-id>",
		Short: "Change an integration",
		Long: `Change some fields of an integration with a JSON merge patch: only the flags
given change anything. --config key=null removes a config field,
--remove-label removes a label, an empty --description or --authref clears it.

The change is conditional: it applies only if nobody changed the integration
since it was read (If-Match with the ETag of a fresh read, or --if-match).

Here --config means key=value; choose the CLI's config file with STELLA_CONFIG.`,
		Example: `  stella config integrations update 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 --name "Production Registry (EU)" --label team=release
  stella config integrations update 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 --endpoint https://registry-eu.example.com --config timeout=30 --if-match 4`,
		Args:              exactArgs("the integration id"),
		ValidArgsFunction: a.completeIntegrationIDs,
	}
	fs := cmd.Flags()
	in.register(fs)
	fs.StringArrayVar(&removeLabels, "remove-label", nil, "remove this label (repeatable)")
	fs.StringVar(&ifMatch, "if-match", "", "apply only at this revision (an ETag such as \"4\", or *); default: the revision read just before")
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		patch, err := in.patch(cmd.Flags(), removeLabels)
		if err != nil {
			return err
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		etag := normalizeETag(ifMatch)
		if etag == "" {
			resp, _, err := c.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			etag = resp.header.Get("ETag")
		}
		resp, it, err := c.Patch(cmd.Context(), args[0], patch, etag)
		if err != nil {
			return err
		}
		return a.emitIntegration(cmd.Context(), resp.body, it)
	})
	return cmd
}

// patch builds the merge patch of the flags that were given.
func (f *inputFlags) patch(fs *pflag.FlagSet, removeLabels []string) (map[string]any, error) {
	patch := map[string]any{}
	if fs.Changed("name") {
		if strings.TrimSpace(f.name) == "" {
			return nil, usageErr("--name must not be empty")
		}
		patch["name"] = f.name
	}
	clearable := func(flag, field, v string) {
		if fs.Changed(flag) {
			if v == "" {
				patch[field] = nil // merge patch: null removes the field
			} else {
				patch[field] = v
			}
		}
	}
	clearable("description", "description", f.description)
	clearable("authref", "credentialRef", f.authref)
	cfg, err := f.configFields(fs.Changed("endpoint"))
	if err != nil {
		return nil, err
	}
	if len(cfg) > 0 {
		patch["config"] = cfg
	}
	labels, err := parseLabels(f.labels)
	if err != nil {
		return nil, err
	}
	if len(labels) > 0 || len(removeLabels) > 0 {
		l := map[string]any{}
		for k, v := range labels {
			l[k] = v
		}
		for _, k := range removeLabels {
			l[k] = nil
		}
		patch["labels"] = l
	}
	if len(patch) == 0 {
		return nil, usageErr("nothing to update: give at least one of --name, --description, --endpoint, --authref, --label, --remove-label, --config, --config-file")
	}
	return patch, nil
}

// normalizeETag accepts 4 as well as "4" (the ETag as the API writes it).
func normalizeETag(v string) string {
	v = strings.TrimSpace(v)
	if v == "" || v == "*" || strings.HasPrefix(v, `"`) {
		return v
	}
	return `"` + v + `"`
}

func (a *app) newDeleteCmd() *cobra.Command {
	var ifMatch string
	cmd := &cobra.Command{
		Use:               "delete <integration-id>",
		Short:             "Delete an integration",
		Long:              "Delete an integration; with --if-match only if it is still at that revision.",
		Example:           "  stella config integrations delete 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10\n  stella config integrations delete 3f6c2d9e-8a41-4c57-9b0e-2f1d7c5a9e10 --if-match 4",
		Args:              exactArgs("the integration id"),
		ValidArgsFunction: a.completeIntegrationIDs,
	}
	cmd.Flags().StringVar(&ifMatch, "if-match", "", "delete only at this revision (an ETag such as \"4\")")
	cmd.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		if err := c.Delete(cmd.Context(), args[0], normalizeETag(ifMatch)); err != nil {
			return err
		}
		result := struct {
			ID      string `json:"id"`
			Deleted bool   `json:"deleted"`
		}{args[0], true}
		return a.emitValue(result, func(w io.Writer) { fmt.Fprintf(w, "integration %s deleted\n", args[0]) })
	})
	return cmd
}
