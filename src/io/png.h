// PNG output (libpng): 16-bit counts, windowed 8-bit previews, contact sheets.
//
//   write_png16(scan, kAnterior, "a.png");
//   write_preview_png(scan, "p.png", PreviewOptions{});     // both views side by side
//   write_contact_sheet({scan1, scan2}, {"normal", "met"}, "sheet.png", ContactSheetOptions{});
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/scan.h"

namespace scintigen {

// Writes a grayscale PNG from 8- or 16-bit samples (row-major). Atomic (temp + rename).
void write_png_gray(const std::string& path, int width, int height, int bit_depth, const void* samples);
// An 8-bit grayscale PNG in memory, uncompressed (zlib stored blocks, no row filter, no
// ancillary chunks): its byte size is a function of width and height alone, whatever the
// pixels (the reader study's images must not tell their origin by their size).
std::string encode_png_gray8_stored(int width, int height, const uint8_t* samples);
// Reads a grayscale PNG (8 or 16 bit) into row-major samples; for tests and import.
std::vector<uint16_t> read_png_gray(const std::string& path, int* width, int* height, int* bit_depth);

// One view as 16-bit counts (values clamped to 0..65535, rounded).
void write_png16(const Scan& scan, View view, const std::string& path);

struct PreviewOptions {
  // Window upper limit as a percentile of non-zero counts (bladder and injection site would
  // otherwise wash out the skeleton). Lower limit 0. Inverted grey (black = high) by default,
  // as nuclear-medicine physicians read bone scans.
  double upper_percentile = 99.5;
  bool invert = true;
  int gap = 8;  // pixels between anterior and posterior
};

// Both views side by side, windowed to 8 bits (RGB not needed: grayscale).
void write_preview_png(const Scan& scan, const std::string& path, const PreviewOptions& options = {});

struct ContactSheetOptions {
  int columns = 8;
  int tile_height = 256;  // each scan's preview scaled to this height (area averaging)
  PreviewOptions preview;
};

// A grid of previews with a one-line caption under each (built-in 5x7 bitmap font).
void write_contact_sheet(const std::vector<const Scan*>& scans, const std::vector<std::string>& captions,
                         const std::string& path, const ContactSheetOptions& options = {});

}  // namespace scintigen
