// Command gencodes writes bindings/go/codes_gen.go from ffi/include/trent.h (run by `go
// generate` in bindings/go).
package main

import (
	"log"
	"os"

	"github.com/trent-kms/trent/bindings/go/internal/codegen"
)

func main() {
	header, err := os.ReadFile("../../ffi/include/trent.h")
	if err != nil {
		log.Fatal(err)
	}
	src, err := codegen.Generate(header)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("codes_gen.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
}
