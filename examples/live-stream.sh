#!/bin/sh
# A live MPEG-TS stream from ffmpeg to three consumers over one ipn network:
# a recorder, a transcoder and a player (decoding to null), joining and
# leaving at will, the player stopped for a while with SIGSTOP; the others
# go on, unaffected. Needs ipn and ffmpeg on PATH.
#
#   sh examples/live-stream.sh [SECONDS] [DIR]
set -eu
secs=${1:-20}
dir=${2:-$(mktemp -d)}
net=$dir/live

# Lossless, so that the recorder gets every byte; a receiver that keeps the
# producer waiting more than a second is made lossy for itself; the last 64
# messages (about 84 kB, the stream's tables and latest frames) are kept for
# consumers that join late.
ipn create "$net" --lossless --pool 64 --stall-timeout 1s --history 64

# The recorder, from the start.
ipn recv "$net" --descr record > "$dir/record.ts" &
rec=$!
# The player, lossy for itself: it never holds the producer back.
ipn recv "$net" --descr play --lossy | ffmpeg -v error -f mpegts -i - -f null - &
play=$!
sleep 1

# The producer: a test pattern encoded live (-re: at the speed of its
# content), in 1316-byte messages, seven MPEG-TS packets each.
ffmpeg -v error -re -f lavfi -i "testsrc=size=640x360:rate=25:duration=$secs" \
	-c:v mpeg2video -b:v 1M -f mpegts - |
	ipn send "$net" --chunk 1316 --descr producer --stats &
prod=$!

# The transcoder joins late: it gets the history first, then the live stream.
sleep $((secs / 4))
ipn recv "$net" --descr transcode --timeout 3s |
	ffmpeg -v error -f mpegts -i - -c:v mpeg4 -f mp4 -y "$dir/transcoded.mp4" &
trans=$!

# Stop the player for a while (a consumer that hangs), then let it go on.
sleep $((secs / 4))
kill -STOP $(pgrep -f -- "--descr play" | head -1)
ipn stat "$net"
sleep $((secs / 4))
kill -CONT $(pgrep -f -- "--descr play" | head -1)

wait $prod
sleep 2
ipn stat "$net"
# The producer has gone: the consumers leave on their own (--timeout) or
# are told to.
kill $(pgrep -f -- "--descr play" | head -1) $(pgrep -f -- "--descr record" | head -1) 2>/dev/null || true
wait $trans $rec $play 2>/dev/null || true
ipn destroy "$net"
ls -l "$dir"
ffmpeg -v error -i "$dir/record.ts" -f null - && echo "record.ts decodes"
ffmpeg -v error -i "$dir/transcoded.mp4" -f null - && echo "transcoded.mp4 decodes"
