package trent

import (
	"bytes"
	"os"
	"testing"

	"github.com/trent-kms/trent/bindings/go/internal/codegen"
)

// TestCodesMatchHeader fails when codes_gen.go is not what trent.h generates (a code added,
// renumbered or renamed in the header without `go generate`), and when the linked library
// names a code differently from the header's Go table, or knows a code the table lacks.
func TestCodesMatchHeader(t *testing.T) {
	want, err := codegen.GenerateFile(codegen.Header)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("codes_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("codes_gen.go differs from what ffi/include/trent.h generates: run `go generate` in bindings/go")
	}
	inTable := map[Code]string{}
	for _, c := range headerCodes {
		inTable[c.Code] = c.Name
		if n := resultName(uint32(c.Code)); n != c.Name {
			t.Errorf("code %d: trent_result_name says %q, the header's table %q", c.Code, n, c.Name)
		}
		if e := newError(uint32(c.Code), ""); e.Name != c.Name || !e.Is(sentinel(c.Code)) {
			t.Errorf("code %d: error %+v", c.Code, e)
		}
	}
	// Every value the library names is in the table (0 is success, not an error code).
	for v := uint32(1); v < 4096; v++ {
		if n := resultName(v); n != "Unknown" && inTable[Code(v)] != n {
			t.Errorf("the library names code %d %q; the header's table has %q", v, n, inTable[Code(v)])
		}
	}
}

// TestCodegenParsesEveryEnumerator checks the generator against a header of its own: a new
// code appears in the output, with its sentinel.
func TestCodegenParsesEveryEnumerator(t *testing.T) {
	h := []byte("enum trent_result\n {\n  /**\n   * Success.\n   */\n  TRENT_RESULT_OK = 0,\n" +
		"  /**\n   * `FooBarException`: a new one.\n   */\n  TRENT_RESULT_FOO_BAR_EXCEPTION = 1020,\n" +
		"  TRENT_RESULT_KMS_SOMETHING = 7,\n};\n")
	codes, err := codegen.Parse(h)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 2 || codes[0].Value != 1020 || codes[0].GoName != "FooBarException" || codes[0].ErrName != "FooBar" ||
		codes[0].Doc != "`FooBarException`: a new one." || codes[1].GoName != "KMSSomething" || codes[1].ErrName != "KMSSomething" {
		t.Fatalf("parsed %+v", codes)
	}
	src, err := codegen.Generate(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"CodeFooBarException Code = 1020", "ErrFooBar", "sentinel(CodeFooBarException)", `{CodeKMSSomething, "KmsSomething"}`} {
		if !bytes.Contains(src, []byte(s)) {
			t.Errorf("generated source lacks %q:\n%s", s, src)
		}
	}
}
