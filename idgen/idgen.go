package idgen

import "errors"

// A Generator issues unique IDs.
//
// Implementations are safe for concurrent use by multiple goroutines.
type Generator interface {
	// Next returns a new ID, or an error when none can be issued safely.
	Next() (ID, error)
}

var _ Generator = (*Snowflake)(nil)

var (
	// ErrInvalidLayout is wrapped by the errors of Layout.Validate and New
	// for a layout whose fields cannot work together.
	ErrInvalidLayout = errors.New("idgen: invalid layout")
	// ErrWorkerRange is wrapped by the error of New and HostWorker for a
	// worker ID that does not fit the layout's worker bits.
	ErrWorkerRange = errors.New("idgen: worker id out of range")
	// ErrClockBackwards is returned by Next and NextAt when the clock is
	// further behind the latest time already seen than MaxSkew allows.
	ErrClockBackwards = errors.New("idgen: clock moved backwards")
	// ErrExhausted is returned by Next and NextAt when every sequence number
	// up to MaxLead ahead of the clock is used and waiting for the clock
	// would take longer than MaxWait.
	ErrExhausted = errors.New("idgen: sequence exhausted up to the maximum lead")
	// ErrLayoutExpired is returned by Next and NextAt, and by New, when the
	// time no longer fits the layout's time bits.
	ErrLayoutExpired = errors.New("idgen: time beyond the layout's lifetime")
	// ErrLeaseLost is returned by Next and NextAt once the expiry set by
	// SetExpiry has passed: the worker ID may belong to another process.
	ErrLeaseLost = errors.New("idgen: worker id lease lost")
	// ErrInvalidID is wrapped by the errors of the parsers, UnmarshalText,
	// UnmarshalJSON and Scan for input that is not an ID.
	ErrInvalidID = errors.New("idgen: invalid id")
	// ErrNoFreeWorker is returned by worker ID leases (package redisidgen)
	// when every worker ID of the layout is held.
	ErrNoFreeWorker = errors.New("idgen: no free worker id")
	// ErrNoPrivateIP is returned by HostWorker when the host has no private
	// IPv4 address.
	ErrNoPrivateIP = errors.New("idgen: no private IPv4 address")
)
