package run

import (
	"bytes"
	"fmt"
	"testing"
)

// benchStream is the test2json stream of a part with many tests, a failing
// one with testify-style output, and a subtest: what the grader reads most.
func benchStream(tests int) ([]byte, []string) {
	var b bytes.Buffer
	var names []string
	for i := range tests {
		name := fmt.Sprintf("TestRule%03d", i)
		names = append(names, name)
		fmt.Fprintf(&b, `{"Action":"run","Test":%q}`+"\n", name)
		fmt.Fprintf(&b, `{"Action":"output","Test":%q,"Output":"=== RUN   %s\n"}`+"\n", name, name)
		if i%10 == 0 {
			sub := name + "/case_1"
			fmt.Fprintf(&b, `{"Action":"run","Test":%q}`+"\n", sub)
			for range 8 {
				fmt.Fprintf(&b, `{"Action":"output","Test":%q,"Output":"        \tMessages:   \tsomething went wrong and here is why\n"}`+"\n", sub)
			}
			fmt.Fprintf(&b, `{"Action":"fail","Test":%q,"Elapsed":0}`+"\n", sub)
			fmt.Fprintf(&b, `{"Action":"output","Test":%q,"Output":"--- FAIL: %s (0.00s)\n"}`+"\n", name, name)
			fmt.Fprintf(&b, `{"Action":"fail","Test":%q,"Elapsed":0.01}`+"\n", name)
			continue
		}
		fmt.Fprintf(&b, `{"Action":"output","Test":%q,"Output":"--- PASS: %s (0.00s)\n"}`+"\n", name, name)
		fmt.Fprintf(&b, `{"Action":"pass","Test":%q,"Elapsed":0.01}`+"\n", name)
	}
	b.WriteString(`{"Action":"output","Output":"FAIL\n"}` + "\n")
	b.WriteString(`{"Action":"fail","Elapsed":0.5}` + "\n")
	return b.Bytes(), names
}

func BenchmarkDecodePart(b *testing.B) {
	stream, names := benchStream(100)
	d := newDecoder(names)
	d.decode(bytes.NewReader(stream))
	if st := d.tests["TestRule000"].res.Status; st != TestFailed {
		b.Fatalf("TestRule000 decoded as %v, want failed: the stream is not what the benchmark means to measure", st)
	}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		d := newDecoder(names)
		d.decode(bytes.NewReader(stream))
	}
}
