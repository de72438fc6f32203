package main

import (
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/registry"
)

// registryOptions name the registry certificates go to.
type registryOptions struct {
	URL   string
	Token string
}

func (o *registryOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.URL, "registry", "", "URL of the central registry (DECOM_REGISTRY)")
	f.StringVar(&o.Token, "token", "", "the registry's API token (DECOM_REGISTRY_TOKEN)")
}

func (o *registryOptions) apply(flags *pflag.FlagSet, c fileConfig) {
	resolve(flags, []setting{
		{"registry", "DECOM_REGISTRY", c.Registry, &o.URL},
		{"token", "DECOM_REGISTRY_TOKEN", c.RegistryToken, &o.Token},
	})
}

func (o registryOptions) client() *registry.Client {
	return &registry.Client{URL: o.URL, Token: o.Token}
}
