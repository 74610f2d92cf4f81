package callmap

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

func TestAppendCost(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0.0045000000000000005, "0.0045"},
		{0.00008999999999999999, "0.00009"},
		{3e-7, "3e-7"},
		{0.00489, "0.00489"},
		{0, "0"},
		{1234.56789012345, "1234.56789012"},
		{1.25e-7, "1.25e-7"}, {0.000004, "0.000004"},
		{math.NaN(), `"NaN"`},
	}
	for _, tt := range tests {
		got := string(appendCost(nil, tt.in))
		if got != tt.want {
			t.Errorf("appendCost(%v) = %s, want %s", tt.in, got, tt.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("appendCost(%v) = %s is not JSON", tt.in, got)
		}
	}
}

// TestAppendCostMatchesDefinition checks the digit layout against the
// definition over boundaries (1e-6, 1e21, rounding that carries into a new
// digit) and a spread of magnitudes.
func TestAppendCostMatchesDefinition(t *testing.T) {
	in := []float64{
		1e-6, 9.9999999999995e-7, 9.99999999999949e-7, 1e21, 9.99999999999951e20, 1e20, 123456789012345678,
		0.1 + 0.2, 1, 10, 100, 0.5, 5e-324, math.MaxFloat64, -0.0045000000000000005, -1e-9, 999999999999.5,
		412 * 0.15e-6, 96 * 0.6e-6, 128 * 0.075e-6,
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 50000 {
		in = append(in, math.Float64frombits(r.Uint64()), r.Float64()*math.Pow(10, float64(r.IntN(60)-30)),
			// costs as they are made: tokens × a decimal price, summed
			float64(r.IntN(1e6))*float64(r.IntN(1e4))*1e-9+float64(r.IntN(1e5))*float64(r.IntN(1e3))*1e-8)
	}
	for _, f := range in {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		if got, want := string(appendCost(nil, f)), string(appendCostSlow(nil, f)); got != want {
			t.Fatalf("appendCost(%v) = %s, want %s", f, got, want)
		}
	}
}

func FuzzAppendCost(f *testing.F) {
	f.Add(0.0045000000000000005)
	f.Add(9.9999999999995e-7)
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		if got, want := string(appendCost(nil, v)), string(appendCostSlow(nil, v)); got != want {
			t.Fatalf("appendCost(%v) = %s, want %s", v, got, want)
		}
	})
}

// TestAppendPrice checks that a remembered price is the text appendCost
// writes, also when two prices share a slot and evict each other.
func TestAppendPrice(t *testing.T) {
	var clash float64
	for i := 1; ; i++ { // a second price in the slot of 1.5e-7
		f := float64(i) * 1e-9
		if f != 1.5e-7 && priceSlot(math.Float64bits(f)) == priceSlot(math.Float64bits(1.5e-7)) {
			clash = f
			break
		}
	}
	for range 3 {
		for _, f := range []float64{1.5e-7, clash, 0.0045000000000000005, 0, math.NaN()} {
			if got, want := string(appendPrice([]byte("x"), f)), "x"+string(appendCost(nil, f)); got != want {
				t.Fatalf("appendPrice(%v) = %s, want %s", f, got, want)
			}
		}
	}
}

// TestAppendFloatMatchesEncodingJSON holds appendFloat (its short-decimal
// path included) to encoding/json's formatting of finite floats: short
// decimals at every scale, their neighbours, and random bits.
func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	in := []float64{0.7, 1, 0.95, 1234.5, 1e-6, 9.99999e-7, 1e15, 999999999999999.9, 1e21, 0.1 + 0.2, 5e-324, -0.5, -0.0, 0, 123456789.123, 0.00012345678, 4503599627370495.5}
	r := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		short := float64(r.Int64N(1e9)) / math.Pow(10, float64(r.IntN(12)))
		in = append(in, short, math.Nextafter(short, 0), math.Nextafter(short, 2e9), -short,
			math.Float64frombits(r.Uint64()), r.Float64()*math.Pow(10, float64(r.IntN(30)-10)))
	}
	for _, f := range in {
		checkFloat(t, f)
	}
}

func FuzzAppendFloat(f *testing.F) {
	f.Add(0.7)
	f.Add(1234.5)
	f.Fuzz(checkFloat)
}

func checkFloat(t *testing.T, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return
	}
	want, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendFloat(nil, f); string(got) != string(want) {
		t.Fatalf("appendFloat(%v) = %s, want %s", f, got, want)
	}
}

// TestFloatMemo writes floats through one writer, many of them twice and
// more than its table holds, and checks each text against appendFloat's.
func TestFloatMemo(t *testing.T) {
	var w valueWriter
	r := rand.New(rand.NewPCG(3, 4))
	var in []float64
	for range 200 {
		in = append(in, float64(r.IntN(100))/10, r.NormFloat64(), math.Float64frombits(r.Uint64()))
	}
	in = append(in, 0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), -math.MaxFloat64, math.SmallestNonzeroFloat64)
	for _, f := range append(in, in...) {
		if got, want := w.appendFloat(nil, f), appendFloat(nil, f); string(got) != string(want) {
			t.Fatalf("%v (bits %#x): %s, want %s", f, math.Float64bits(f), got, want)
		}
	}
}
