package analyze

import (
	"context"
	"reflect"
	"slices"

	"github.com/vigil-metrics/vigil/internal/sources"
)

// refuseSameEngine refuses two sources that are one engine under two
// spellings (http://127.0.0.1:9090 and http://localhost:9090): united,
// they would count every sample twice. An engine that says who it is
// (Prometheus's runtimeinfo) is compared by that; otherwise two URLs are
// one engine when their hosts resolve to a shared address with the same
// scheme, port and path, and the sources: settings that pick the
// samples (headers such as a tenant's, credentials) are the same. Two engines holding the same samples (a
// replica, or a store beside the engine it was copied to) cannot be told
// apart from two engines holding different ones.
func refuseSameEngine(ctx context.Context, remotes []*remoteSource, opt Options) error {
	if len(remotes) < 2 {
		return nil
	}
	type who struct {
		instance  string
		endpoints []string
		cfg       sources.Config
	}
	ws := make([]who, len(remotes))
	for i, r := range remotes {
		cfg, _ := sources.Lookup(opt.Sources, r.client.URL)
		// What says whose samples are read (a tenant's header, the
		// credentials a proxy maps to one); types, limits and TLS do not.
		id := sources.Config{Headers: cfg.Headers, BasicAuth: cfg.BasicAuth, BearerTokenEnv: cfg.BearerTokenEnv, BearerTokenFile: cfg.BearerTokenFile}
		ws[i] = who{r.client.Instance(ctx), r.client.Endpoints(ctx), id}
	}
	for i := range ws {
		for j := i + 1; j < len(ws); j++ {
			a, b := ws[i], ws[j]
			same := false
			if a.instance != "" && b.instance != "" {
				same = a.instance == b.instance
			} else {
				same = reflect.DeepEqual(a.cfg, b.cfg) && slices.ContainsFunc(a.endpoints, func(e string) bool { return slices.Contains(b.endpoints, e) })
			}
			if same {
				return queryErrorf("%s and %s are one engine: counting both would count every sample twice; give one of them", remotes[i].client.URL, remotes[j].client.URL)
			}
		}
	}
	return nil
}
