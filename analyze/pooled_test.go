package analyze

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

// A pooled group's sum, mean and population standard deviation are the
// exact ones rounded (pooled.go), checked against math/big over values of
// mixed magnitudes, a large common offset (where a one-pass variance
// would lose every digit) and subnormals, spread over several series.
func TestPooledExactAgainstBig(t *testing.T) {
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(26, 1))
	var s []store.Sample
	var vals []float64
	for i := 0; i < 900; i++ {
		v := 1e14 + rng.Float64()*[]float64{1e-6, 1, 1e3}[rng.IntN(3)]
		if i%101 == 0 {
			v = math.SmallestNonzeroFloat64 * float64(rng.IntN(50))
		}
		smp := gauge("pool", -time.Duration(900-i)*time.Second/10, v)
		smp.Labels = map[string]string{"host": fmt.Sprint(i % 7)}
		s = append(s, smp)
		vals = append(vals, v)
	}
	p := f.write("v.db", s...)
	const prec = 4096
	sum := new(big.Float).SetPrec(prec)
	for _, v := range vals {
		sum.Add(sum, new(big.Float).SetPrec(prec).SetFloat64(v))
	}
	n := new(big.Float).SetPrec(prec).SetInt64(int64(len(vals)))
	mean := new(big.Float).SetPrec(prec).Quo(sum, n)
	ss := new(big.Float).SetPrec(prec)
	for _, v := range vals {
		d := new(big.Float).SetPrec(prec).SetFloat64(v)
		d.Sub(d, mean)
		ss.Add(ss, d.Mul(d, d))
	}
	sd := new(big.Float).SetPrec(prec).Quo(ss, n)
	sd.Sqrt(sd)
	wantSum, _ := sum.Float64()
	wantMean, _ := mean.Float64()
	wantSD, _ := sd.Float64()
	for path, want := range map[string]float64{"pool.sum": wantSum, "pool.avg": wantMean, "pool.stddev": wantSD} {
		rs, _ := f.query(path, time.Hour, p)
		if got := one(t, rs); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
}
