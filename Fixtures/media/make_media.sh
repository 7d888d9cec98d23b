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

# Audio fixtures (spec §4.3, §7b). aevalsrc's random() is a fixed-seed generator, so these are
# reproducible. Each has different content per channel and over time (so the 8 clips differ).
# sample_av.mp4: 160x120 testsrc2 at 10 fps, 6.5 s, plus a 44.1 kHz stereo AAC track.
$FF -f lavfi -i "testsrc2=size=160x120:rate=10:duration=6.5" \
    -f lavfi -i "aevalsrc='(0.45*sin(2*PI*440*t)+0.2*sin(2*PI*(300+150*t)*t))*(0.6+0.4*sin(2*PI*0.3*t))+0.02*(random(0)-0.5)|0.35*sin(2*PI*1250*t)+0.3*sin(2*PI*97*t)*(t/6.5)+0.02*(random(1)-0.5):s=44100:d=6.5'" \
    -map 0:v -map 1:a -vf "format=yuv420p" -c:v libx264 -preset veryfast -crf 36 -g 20 \
    -c:a aac -b:a 64k -map_metadata -1 -fflags +bitexact sample_av.mp4
# 48 kHz mono Opus in Matroska, 7 s (a chirp over a hum).
$FF -f lavfi -i "aevalsrc='0.4*sin(2*PI*(200+250*t)*t)+0.15*sin(2*PI*60*t)+0.01*(random(0)-0.5):s=48000:d=7'" \
    -c:a libopus -b:a 32k -map_metadata -1 -fflags +bitexact mono48k.mkv
# 16 kHz mono WAV (pcm_s16le), 2.5 s: no resampling.
$FF -f lavfi -i "aevalsrc='0.5*sin(2*PI*523*t)*exp(-t)+0.2*sin(2*PI*3000*t)+0.01*(random(0)-0.5):s=16000:d=2.5'" \
    -c:a pcm_s16le -map_metadata -1 -fflags +bitexact tone16k.wav
# 8 kHz stereo FLAC, 2.6 s, no noise to keep it small (upsampling to 16 kHz).
$FF -f lavfi -i "aevalsrc='0.5*sin(2*PI*330*t)|0.3*sin(2*PI*(800+200*t)*t):s=8000:d=2.6'" \
    -c:a flac -sample_fmt s16 -compression_level 12 -map_metadata -1 -fflags +bitexact tone8k.flac
# Shorter than one 2 s clip: 1.5 s of 22.05 kHz mono MP3 (all 8 clips start at 0).
$FF -f lavfi -i "aevalsrc='0.5*sin(2*PI*700*t)+0.1*sin(2*PI*2100*t)+0.01*(random(0)-0.5):s=22050:d=1.5'" \
    -c:a libmp3lame -b:a 48k -map_metadata -1 -fflags +bitexact short.mp3
# Sample formats the decoder converts: 0.2 s of 8 kHz s32, u8 and f64 PCM.
for fmt in s32le u8 f64le; do
  $FF -f lavfi -i "aevalsrc='0.9*sin(2*PI*440*t)|0.5*sin(2*PI*150*t)-0.3:s=8000:d=0.2'" \
      -c:a pcm_$fmt -map_metadata -1 -fflags +bitexact pcm_$fmt.wav
done

# Still images: a 500x374 PNG (testsrc2 evens the requested 375) (downscale, antialiasing matters) and a 160x120 JPEG (upscale).
$FF -f lavfi -i "testsrc2=size=500x375:rate=1:duration=1" -frames:v 1 -pix_fmt rgb24 image.png
$FF -f lavfi -i "testsrc2=size=160x120:rate=1:duration=1" -frames:v 1 -q:v 3 image.jpg
ls -l
