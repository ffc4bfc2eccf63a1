module github.com/trent-kms/trent/bindings/go

go 1.24
