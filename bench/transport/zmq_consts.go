package transport

// libzmq's constants (zmq.h of libzmq 4.x), for zmq_unsafe.go and zmq.go.
const (
	zmqPUB  = 1
	zmqSUB  = 2
	zmqXPUB = 9

	zmqSUBSCRIBE       = 6
	zmqLINGER          = 17
	zmqRECONNECTIVL    = 18
	zmqSNDHWM          = 23
	zmqRCVHWM          = 24
	zmqRCVTIMEO        = 27
	zmqXPUBVERBOSE     = 40
	zmqXPUBNODROP      = 69
	zmqDONTWAIT        = 1
	zmqEINTR           = 4
	zmqEAGAIN          = 11
	zmqSubscribeByte   = 1 // first byte of a subscription message seen by XPUB
	zmqUnsubscribeByte = 0 // first byte of an unsubscription
	zmqHausnumero      = 156384712
)
