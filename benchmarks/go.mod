module github.com/distkit/distkit/benchmarks

go 1.25

replace github.com/distkit/distkit => ../

require (
	github.com/bwmarrin/snowflake v0.3.0
	github.com/distkit/distkit v0.0.0-00010101000000-000000000000
	github.com/google/uuid v1.6.0
	github.com/oklog/ulid/v2 v2.1.2
	github.com/rs/xid v1.6.0
	github.com/sony/sonyflake v1.2.0
)
