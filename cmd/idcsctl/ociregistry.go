package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/ocir"
)

func newOCIRegistryCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "OCI Container Registry (OCIR) credentials for docker, podman, skopeo and crane",
		Example: `  idcsctl oci registry setup iad.ocir.io
  docker pull iad.ocir.io/mytenancy/app:1.0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newOCIRegistrySetupCmd(a))
	return cmd
}

type ociRegistrySetupOptions struct {
	hosts        []string
	dockerConfig string
}

func newOCIRegistrySetupCmd(a *app) *cobra.Command {
	o := &ociRegistrySetupOptions{}
	cmd := &cobra.Command{
		Use:   "setup [HOST...]",
		Short: "Send OCIR hosts to docker-credential-idcsctl in docker's config.json",
		Long: `Add credHelpers entries to docker's config.json ($DOCKER_CONFIG/config.json,
else ~/.docker/config.json) that send each HOST to docker-credential-idcsctl,
which answers with a short-lived OCIR registry token minted from the profile's
OCI session: no auth token, no docker login. Every other byte of the file
stays; inside credHelpers the other entries keep their order and values. The
file keeps its mode and owner; a symbolic link or a file other users can
write is refused.

A HOST is an OCIR host (<region-key>.ocir.io such as iad.ocir.io,
<region>.ocir.io) or one of the [ocir] hosts of the config file. Without
HOST, the [ocir] hosts and the OCIR host of the profile's oci_region.

podman, skopeo and buildah read the same credHelpers from this file (after
their own ${XDG_RUNTIME_DIR}/containers/auth.json); crane reads it as docker
does. See docs/oci.md, "Container images".`,
		Example: `  idcsctl oci registry setup iad.ocir.io fra.ocir.io
  idcsctl oci registry setup --docker-config ./docker/config.json iad.ocir.io`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.hosts = args
			return runOCIRegistrySetup(a, o)
		},
	}
	cmd.Flags().StringVar(&o.dockerConfig, "docker-config", "", "docker config file to edit (default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json)")
	return cmd
}

func runOCIRegistrySetup(a *app, o *ociRegistrySetupOptions) error {
	f, err := a.loadConfig()
	if err != nil {
		return &usageError{err}
	}
	var configured map[string]string
	helperProfile := ""
	if f.OCIR != nil {
		configured, helperProfile = f.OCIR.Hosts, f.OCIR.Profile
	}
	hosts := o.hosts
	if len(hosts) == 0 {
		for h := range configured {
			hosts = append(hosts, h)
		}
		slices.Sort(hosts)
		name, err := f.ProfileName(a.deps.Getenv, firstOf(a.global.profile, helperProfile))
		if err != nil {
			return &usageError{err}
		}
		// A mistyped profile is answered as on every command (resolve).
		p, err := f.Resolve(a.deps.Getenv, config.Overrides{Profile: name})
		if err != nil {
			return &usageError{err}
		}
		if err := a.checkExists(f, p); err != nil {
			return err
		}
		if p, ok := f.Profiles[name]; ok && ocir.HostOf(p.OCIRegion) != "" {
			hosts = append(hosts, ocir.HostOf(p.OCIRegion))
		}
		if len(hosts) == 0 {
			return usagef("name the registry hosts, e.g. `idcsctl oci registry setup iad.ocir.io`: profile %q has no oci_region and the config no [ocir] hosts", name)
		}
	}
	var norm []string
	for _, h := range hosts {
		n, err := ocir.CheckHost(h)
		if err != nil {
			return &usageError{err}
		}
		if _, ok := ocir.Region(n, configured); !ok {
			return usagef("%s is not an OCIR host (such as iad.ocir.io or us-ashburn-1.ocir.io) nor one of the [ocir] hosts of %s: add it there with its region, e.g. [ocir.hosts] %q = \"us-ashburn-1\"", n, f.Path(), n)
		}
		if !slices.Contains(norm, n) {
			norm = append(norm, n)
		}
	}
	path := o.dockerConfig
	if path == "" {
		if path, err = ocir.DockerConfigPath(a.deps.Getenv); err != nil {
			return err
		}
	}
	if path, err = filepath.Abs(path); err != nil {
		return usagef("--docker-config: %v", err)
	}
	changed, err := ocir.WriteCredHelpers(path, norm, ocir.HelperName)
	if err != nil {
		return &usageError{err}
	}
	w := a.deps.Stderr
	verb := "now sends"
	if !changed {
		verb = "already sends"
	}
	fmt.Fprintf(w, "%s %s %s to %s.\n", path, verb, strings.Join(norm, ", "), ocir.HelperProgram)
	if _, err := exec.LookPath(ocir.HelperProgram); err != nil {
		fmt.Fprintf(w, "warning: %s is not on PATH, where docker looks for it: install it beside idcsctl (every release carries it, or `go install github.com/idcsctl/idcsctl/cmd/%s@latest`).\n", ocir.HelperProgram, ocir.HelperProgram)
	}
	fmt.Fprintf(w, "podman, skopeo and buildah read these credHelpers too, after their own ${XDG_RUNTIME_DIR}/containers/auth.json; crane reads them as docker does.\n")
	fmt.Fprintf(w, "The registry tokens come from profile %q's OCI session (set [ocir] profile in %s, or %s, for another).\n",
		firstOf(a.deps.Getenv(config.EnvProfile), helperProfile, f.DefaultProfile, config.DefaultProfile), f.Path(), config.EnvProfile)
	return nil
}
