module github.com/distkit/distkit/benchmarks

go 1.25

replace github.com/distkit/distkit => ../
