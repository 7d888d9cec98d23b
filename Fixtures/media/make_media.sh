#!/bin/sh
# Makes the short media fixtures for VLMedia's tests with the ffmpeg CLI (FFmpeg 5.1 here).
# Deterministic inputs (lavfi test sources), small CRF-encoded files. Run from anywhere:
#   sh Fixtures/media/make_media.sh && /tmp/venv/bin/python Fixtures/media/make_reference.py
set -eu
cd "$(dirname "$0")"
FF="ffmpeg -hide_banner -loglevel error -y"

# HD, tagged BT.709 (limited range), 2 s at 25 fps: colour gradients + moving pattern.
$FF -f lavfi -i "testsrc2=size=1280x720:rate=25:duration=2" \
    -vf "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p" \
    -c:v libx264 -preset veryfast -crf 30 -g 25 \
    -colorspace bt709 -color_primaries bt709 -color_trc bt709 -color_range tv \
    -map_metadata -1 -fflags +bitexact hd709.mp4

# SD, odd-ish size, no colour tags at all (decoders report 'unspecified' → BT.601 matrix).
$FF -f lavfi -i "testsrc2=size=638x358:rate=30:duration=2" \
    -vf "format=yuv420p" -c:v libx264 -preset veryfast -crf 28 -g 30 \
    -map_metadata -1 -fflags +bitexact sd_untagged.mp4

# Rotated: a 320x180 picture stored with a 90° display matrix (stream copy writes the matrix;
# players show it as 180x320 portrait).
$FF -f lavfi -i "testsrc2=size=320x180:rate=10:duration=1" \
    -vf "format=yuv420p" -c:v libx264 -preset veryfast -crf 30 -map_metadata -1 -fflags +bitexact rot_tmp.mp4
$FF -i rot_tmp.mp4 -c copy -metadata:s:v:0 rotate=90 -fflags +bitexact rotated90.mp4
rm -f rot_tmp.mp4

# Odd size (317x179): 4:4:4 so x264 accepts odd dimensions; untagged.
$FF -f lavfi -i "testsrc2=size=317x179:rate=15:duration=1" \
    -vf "format=yuv444p" -c:v libx264 -preset veryfast -crf 30 -map_metadata -1 -fflags +bitexact odd317x179.mp4

# Variable frame rate: 20 frames with irregular timestamps (Matroska keeps them, and stores no frame count).
$FF -f lavfi -i "testsrc2=size=320x240:rate=10:duration=2" \
    -vf "select='not(eq(mod(n\,3)\,1))',setpts='N/10/TB+if(gte(N\,7)\,0.35/TB\,0)',format=yuv420p" \
    -fps_mode vfr -c:v libx264 -preset veryfast -crf 30 -map_metadata -1 -fflags +bitexact vfr.mkv

# Audio only (no video stream) and a truncated (corrupt) copy of the HD clip.
$FF -f lavfi -i "sine=frequency=440:duration=1" -c:a aac audio_only.m4a
head -c 4000 hd709.mp4 > truncated.mp4

# Still images: a 500x374 PNG (testsrc2 evens the requested 375) (downscale, antialiasing matters) and a 160x120 JPEG (upscale).
$FF -f lavfi -i "testsrc2=size=500x375:rate=1:duration=1" -frames:v 1 -pix_fmt rgb24 image.png
$FF -f lavfi -i "testsrc2=size=160x120:rate=1:duration=1" -frames:v 1 -q:v 3 image.jpg
ls -l
