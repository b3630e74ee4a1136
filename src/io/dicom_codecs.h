// Decoding the pixel data of a checked pixel module to counts (internal to src/io; the
// public API is dicom_read.h).
//
//   std::vector<uint8_t> raw = read_raw_frames(path, ds, f, xfer, file_size);
//   to_counts(raw.data() + k * f.frame_bytes(), f, counts);
//   clamp_counts(path, f, counts, clamped);   // counts >= 0
//
// Native pixel data are read to their declared length; RLE, JPEG and JPEG-LS frames are checked
// against the header and decoded by DCMTK; JPEG 2000 by OpenJPEG, whose declared size is
// checked before it allocates. Every frame lands in a buffer of the size the header implies.
#pragma once

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/dicom_attributes.h"

namespace scintigen::detail {

// Every frame as raw stored values (local byte order, BitsAllocated each), frame after frame.
// Throws InputError naming `path` when the pixel data and the header disagree, are truncated
// (`file_size`: bytes in the file) or do not decode.
std::vector<uint8_t> read_raw_frames(const std::string& path, DcmDataset* ds, const PixelFormat& f,
                                     E_TransferSyntax xfer, uint64_t file_size);

// The frame header of a JPEG or JPEG-LS codestream must describe Rows x Columns x 1 sample of
// at most BitsAllocated bits; else InputError naming `path` and frame `frame`.
void check_jpeg_frame(const std::string& path, int frame, const std::vector<uint8_t>& b, const PixelFormat& f);
// An RLE frame must hold one segment per byte of a sample, each decoding to Rows x Columns bytes
// (one more where that is odd: the pad).
void check_rle_frame(const std::string& path, int frame, const std::vector<uint8_t>& b, const PixelFormat& f);
// True when `b` starts a new compressed frame (JPEG SOI, JPEG 2000 SOC or JP2 signature).
bool starts_codestream(const std::vector<uint8_t>& b);

// Raw stored values of one frame -> float32 counts (Rows x Columns): masked to BitsStored,
// sign-extended when PixelRepresentation is 1, Rescale Slope / Intercept applied.
void to_counts(const uint8_t* raw, const PixelFormat& f, std::vector<float>& out);

// The negative counts set to 0 so far, and the lowest of them.
struct ClampedCounts {
  uint64_t n = 0;
  float lowest = 0;
};
// Counts are >= 0: negative values (signed samples, e.g. the ringing of lossy JPEG 2000 around
// zero, or a negative intercept) are set to 0 and tallied in `clamped`. A value that is not
// finite (a rescale beyond the float range) throws InputError naming `path`.
void clamp_counts(const std::string& path, const PixelFormat& f, std::vector<float>& counts, ClampedCounts& clamped);

}  // namespace scintigen::detail
