package cli

import (
	"bytes"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultServer is the hub's address when nothing else names one: the devstack.
const DefaultServer = "http://localhost:8080"

// settings are where and as whom stella talks to the hub.
type settings struct {
	Server string
	Token  string
}

// fileSettings is the CLI config file's content.
type fileSettings struct {
	Server string `yaml:"server"`
	Token  string `yaml:"token"`
}

// resolveSettings applies the precedence flag > environment > file > default.
func (a *app) resolveSettings() (settings, error) {
	file, err := a.loadConfigFile()
	if err != nil {
		return settings{}, err
	}
	s := settings{
		Server: firstNonEmpty(a.server, a.getenv("STELLA_SERVER"), file.Server, DefaultServer),
		Token:  firstNonEmpty(a.token, a.getenv("STELLA_TOKEN"), file.Token),
	}
	if s.Server, err = normalizeServer(s.Server); err != nil {
		return settings{}, err
	}
	return s, nil
}

// loadConfigFile reads the config file: one named by --config or
// STELLA_CONFIG must exist; the default one may be absent.
func (a *app) loadConfigFile() (fileSettings, error) {
	path, explicit := firstNonEmpty(a.configPath, a.getenv("STELLA_CONFIG")), true
	if path == "" {
		explicit = false
		path = a.defaultConfigPath()
		if path == "" {
			return fileSettings{}, nil
		}
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return fileSettings{}, nil
	}
	if err != nil {
		return fileSettings{}, usageErr("config file: %v", err)
	}
	var fs fileSettings
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&fs); err != nil && !errors.Is(err, io.EOF) {
		return fileSettings{}, usageErr("config file %s: %v (it holds the keys server and token)", path, err)
	}
	return fs, nil
}

// defaultConfigPath is $XDG_CONFIG_HOME/stella/config.yaml, else
// $HOME/.config/stella/config.yaml; empty when neither variable is set.
func (a *app) defaultConfigPath() string {
	if dir := a.getenv("XDG_CONFIG_HOME"); dir != "" {
		return filepath.Join(dir, "stella", "config.yaml")
	}
	if home := a.getenv("HOME"); home != "" {
		return filepath.Join(home, ".config", "stella", "config.yaml")
	}
	return ""
}

// normalizeServer accepts "host:port" as http://host:port and refuses
// anything that is not an http(s) URL.
func normalizeServer(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usageErr("server %q is not an http or https URL", s)
	}
	if u.User != nil {
		return "", usageErr("server URL must not hold credentials: use --token")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// client returns the API client, built once per invocation.
func (a *app) client() (*client, error) {
	if a.api != nil {
		return a.api, nil
	}
	s, err := a.resolveSettings()
	if err != nil {
		return nil, err
	}
	if a.timeout <= 0 {
		return nil, usageErr("--timeout must be positive")
	}
	a.api = newClient(s.Server, s.Token, a.timeout)
	return a.api, nil
}
