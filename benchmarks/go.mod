module github.com/distkit/distkit/benchmarks

go 1.25

replace github.com/distkit/distkit => ../

require (
	github.com/cespare/xxhash/v2 v2.3.0
	github.com/dgryski/go-jump v0.0.0-20170409065014-e1f439676b57
	github.com/distkit/distkit v0.0.0-00010101000000-000000000000
	github.com/golang/groupcache v0.0.0-20241129210726-2c02b8208cf8
	github.com/stathat/consistent v1.0.0
	github.com/zeromicro/go-zero v1.10.3
)

require github.com/spaolacci/murmur3 v1.1.0 // indirect
