module github.com/distkit/distkit/benchmarks

go 1.25

replace github.com/distkit/distkit => ../

require (
	github.com/dgryski/go-jump v0.0.0-20170409065014-e1f439676b57 // indirect
	github.com/golang/groupcache v0.0.0-20241129210726-2c02b8208cf8 // indirect
	github.com/spaolacci/murmur3 v1.1.0 // indirect
	github.com/stathat/consistent v1.0.0 // indirect
	github.com/zeromicro/go-zero v1.10.3 // indirect
)
