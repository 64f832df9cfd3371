package veil

import (
	"github.com/coredns/caddy"

	"github.com/veildns/veil/cluster"
)

// parseCluster parses the cluster option of the limit block (package
// cluster parses it; its errors, which never quote an argument, get the
// Corefile line here):
//
//	cluster URL|HOST:PORT [prefix PREFIX] [interval DURATION] [tls-ca FILE] [user NAME] [password SECRET]
func parseCluster(c *caddy.Controller, args []string) (*cluster.Settings, error) {
	s, err := cluster.ParseSettings(args)
	if err != nil {
		return nil, c.Errf("limit: cluster: %v; allowed: %s", err, cluster.Syntax)
	}
	return &s, nil
}
