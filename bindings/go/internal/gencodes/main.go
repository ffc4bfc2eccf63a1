// Command gencodes writes bindings/go/codes_gen.go from ffi/include/trent.h (run by `go
// generate` in bindings/go).
package main

import (
	"log"
	"os"

	"github.com/trent-kms/trent/bindings/go/internal/codegen"
)

func main() {
	src, err := codegen.GenerateFile(codegen.Header)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("codes_gen.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
}
