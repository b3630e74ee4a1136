#include "io/png.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstring>
#include <new>

#include "core/error.h"
#include "core/fs_util.h"
#include "io/font5x7.h"

namespace scintigen {
namespace {

// Largest image read_png_gray accepts: bounds every allocation before decoding.
constexpr uint32_t kMaxSide = 1u << 20;
constexpr uint64_t kMaxSamples = 1ull << 27;  // 256 MiB as uint16

// libpng reports errors by longjmp to the setjmp in encode_png / decode_png. Those two
// functions hold no C++ object with a destructor in their own frame, so the jump skips no
// destructor; everything they fill lives in the caller's context struct.
struct PngContext {
  char message[256] = "libpng error";
};

void on_png_error(png_structp png, png_const_charp msg) {
  auto* ctx = static_cast<PngContext*>(png_get_error_ptr(png));
  std::snprintf(ctx->message, sizeof ctx->message, "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

struct WriteContext : PngContext {
  std::string out;
  const png_byte* samples = nullptr;  // big-endian rows
  int width = 0, height = 0, bit_depth = 8;
  bool stored = false;  // zlib level 0 and no row filter: the size depends on width and height only
};

void write_to_string(png_structp png, png_bytep data, size_t n) {
  auto* ctx = static_cast<WriteContext*>(png_get_io_ptr(png));
  try {
    ctx->out.append(reinterpret_cast<const char*>(data), n);
  } catch (const std::bad_alloc&) {
    png_error(png, "out of memory");
  }
}

void flush_nothing(png_structp) {}

bool encode_png(WriteContext* ctx) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, on_png_error, on_png_warning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, ctx, write_to_string, flush_nothing);
  if (ctx->stored) {
    png_set_compression_level(png, 0);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
  }
  png_set_IHDR(png, info, static_cast<png_uint_32>(ctx->width), static_cast<png_uint_32>(ctx->height), ctx->bit_depth,
               PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const size_t row_bytes = static_cast<size_t>(ctx->width) * (ctx->bit_depth / 8);
  for (int r = 0; r < ctx->height; ++r) png_write_row(png, ctx->samples + static_cast<size_t>(r) * row_bytes);
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return true;
}

struct ReadContext : PngContext {
  const std::string* data = nullptr;
  size_t pos = 0;
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
  std::vector<png_byte> pixels;  // (H, row_bytes)
  std::vector<png_bytep> rows;
  bool too_large = false, not_gray = false, no_memory = false;
};

void read_from_string(png_structp png, png_bytep dst, size_t n) {
  auto* ctx = static_cast<ReadContext*>(png_get_io_ptr(png));
  if (n > ctx->data->size() - ctx->pos) png_error(png, "file is truncated");
  std::memcpy(dst, ctx->data->data() + ctx->pos, n);
  ctx->pos += n;
}

bool decode_png(ReadContext* ctx) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, on_png_error, on_png_warning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, ctx, read_from_string);
  png_set_user_limits(png, kMaxSide, kMaxSide);
  png_set_chunk_malloc_max(png, 8u << 20);
  png_read_info(png, info);
  int interlace = 0;
  png_get_IHDR(png, info, &ctx->width, &ctx->height, &ctx->bit_depth, &ctx->color_type, &interlace, nullptr, nullptr);
  if (ctx->color_type != PNG_COLOR_TYPE_GRAY || (ctx->bit_depth != 8 && ctx->bit_depth != 16)) {
    ctx->not_gray = true;
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  if (static_cast<uint64_t>(ctx->width) * ctx->height > kMaxSamples) {
    ctx->too_large = true;
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const size_t row_bytes = png_get_rowbytes(png, info);
  try {
    ctx->pixels.resize(row_bytes * ctx->height);
    ctx->rows.resize(ctx->height);
  } catch (const std::bad_alloc&) {
    ctx->no_memory = true;
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  for (png_uint_32 r = 0; r < ctx->height; ++r) ctx->rows[r] = ctx->pixels.data() + r * row_bytes;
  png_read_image(png, ctx->rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

// Percentile (0..100) of the positive, finite counts of the present views; 0 when none.
double positive_percentile(const Scan& scan, double percentile) {
  std::vector<float> values;
  for (View v : {kAnterior, kPosterior}) {
    if (!scan.has_view(v)) continue;
    const float* p = scan.view(v);
    for (size_t i = 0, n = scan.view_size(); i < n; ++i)
      if (std::isfinite(p[i]) && p[i] > 0.f) values.push_back(p[i]);
  }
  if (values.empty()) return 0.0;
  const size_t k = static_cast<size_t>(std::llround(percentile / 100.0 * (values.size() - 1)));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[k];
}

void validate(const PreviewOptions& o, const std::string& path) {
  if (!(o.upper_percentile > 0 && o.upper_percentile <= 100))
    throw ConfigError(path, "preview upper_percentile is " + std::to_string(o.upper_percentile),
                      "use a value in (0, 100]");
  if (o.gap < 0 || o.gap > 4096)
    throw ConfigError(path, "preview gap is " + std::to_string(o.gap), "use 0..4096 pixels");
}

// Grey image (H, 2W + gap), 0..255: anterior | gap | posterior (stored, mirrored), windowed
// to [0, percentile]; blank where a view is missing.
std::vector<float> preview_grey(const Scan& scan, const PreviewOptions& o, const std::string& path, int* width,
                                int* height) {
  validate(o, path);
  if (scan.height <= 0 || scan.width <= 0 || scan.pixels.size() != 2 * scan.view_size())
    throw InputError(path, "scan '" + scan.id + "' has inconsistent size", "expected 2 x H x W values");
  const int H = scan.height, W = scan.width, out_w = 2 * W + o.gap;
  double upper = positive_percentile(scan, o.upper_percentile);
  if (!(upper > 0)) upper = 1.0;
  const float blank = o.invert ? 255.f : 0.f;
  std::vector<float> grey(static_cast<size_t>(out_w) * H, blank);
  for (View v : {kAnterior, kPosterior}) {
    if (!scan.has_view(v)) continue;
    const float* p = scan.view(v);
    const int x0 = v == kAnterior ? 0 : W + o.gap;
    for (int r = 0; r < H; ++r) {
      for (int c = 0; c < W; ++c) {
        float x = p[static_cast<size_t>(r) * W + c];
        double g = std::isfinite(x) && x > 0 ? std::min(x / upper, 1.0) : 0.0;
        grey[static_cast<size_t>(r) * out_w + x0 + c] = static_cast<float>(255.0 * (o.invert ? 1.0 - g : g));
      }
    }
  }
  *width = out_w;
  *height = H;
  return grey;
}

// Area-averaging resize of one axis: each output sample is the mean of the input over its
// footprint, partial pixels weighted by their overlap. `stride` steps along the axis,
// `count` lines are processed, `line_step` steps between lines.
void resample_axis(const float* src, int n_in, float* dst, int n_out, size_t stride, size_t count, size_t line_step_in,
                   size_t line_step_out, size_t out_stride) {
  const double scale = static_cast<double>(n_in) / n_out;
  for (int o = 0; o < n_out; ++o) {
    const double a = o * scale, b = (o + 1) * scale;
    const int i0 = static_cast<int>(std::floor(a)), i1 = std::min(n_in, static_cast<int>(std::ceil(b)));
    for (size_t l = 0; l < count; ++l) {
      double sum = 0;
      for (int i = i0; i < i1; ++i) {
        const double w = std::min<double>(b, i + 1) - std::max<double>(a, i);
        sum += w * src[l * line_step_in + i * stride];
      }
      dst[l * line_step_out + o * out_stride] = static_cast<float>(sum / (b - a));
    }
  }
}

std::vector<float> resize_area(const std::vector<float>& src, int sw, int sh, int dw, int dh) {
  std::vector<float> tmp(static_cast<size_t>(dw) * sh), out(static_cast<size_t>(dw) * dh);
  resample_axis(src.data(), sw, tmp.data(), dw, 1, sh, sw, dw, 1);  // along rows
  resample_axis(tmp.data(), sh, out.data(), dh, dw, dw, 1, 1, dw);  // along columns
  return out;
}

void write_gray8(const std::string& path, int width, int height, const std::vector<float>& grey) {
  std::vector<uint8_t> bytes(grey.size());
  for (size_t i = 0; i < grey.size(); ++i) bytes[i] = static_cast<uint8_t>(std::clamp(std::lround(grey[i]), 0L, 255L));
  write_png_gray(path, width, height, 8, bytes.data());
}

// Draws `text` in the 5x7 font, black on the canvas, at (x, y) top-left, `scale` x.
void draw_text(std::vector<float>& canvas, int canvas_w, int canvas_h, int x, int y, const std::string& text,
               int scale) {
  for (size_t k = 0; k < text.size(); ++k) {
    const uint8_t* rows = glyph5x7(text[k]);
    const int gx = x + static_cast<int>(k) * 6 * scale;
    for (int r = 0; r < 7; ++r) {
      for (int c = 0; c < 5; ++c) {
        if (!(rows[r] & (0x10 >> c))) continue;
        for (int dy = 0; dy < scale; ++dy) {
          for (int dx = 0; dx < scale; ++dx) {
            const int px = gx + c * scale + dx, py = y + r * scale + dy;
            if (px >= 0 && px < canvas_w && py >= 0 && py < canvas_h)
              canvas[static_cast<size_t>(py) * canvas_w + px] = 0.f;
          }
        }
      }
    }
  }
}

}  // namespace

void write_png_gray(const std::string& path, int width, int height, int bit_depth, const void* samples) {
  if (width <= 0 || height <= 0 || width > static_cast<int>(kMaxSide) || height > static_cast<int>(kMaxSide))
    throw InternalError(path,
                        "PNG size " + std::to_string(width) + " x " + std::to_string(height) + " is out of range");
  if (bit_depth != 8 && bit_depth != 16)
    throw InternalError(path, "PNG bit depth " + std::to_string(bit_depth) + " is not supported", "use 8 or 16");
  WriteContext ctx;
  ctx.width = width;
  ctx.height = height;
  ctx.bit_depth = bit_depth;
  const size_t n = static_cast<size_t>(width) * height;
  std::vector<png_byte> big_endian;
  if (bit_depth == 16) {  // PNG stores 16-bit samples most significant byte first
    const auto* s = static_cast<const uint16_t*>(samples);
    big_endian.resize(2 * n);
    for (size_t i = 0; i < n; ++i) {
      big_endian[2 * i] = static_cast<png_byte>(s[i] >> 8);
      big_endian[2 * i + 1] = static_cast<png_byte>(s[i] & 0xff);
    }
    ctx.samples = big_endian.data();
  } else {
    ctx.samples = static_cast<const png_byte*>(samples);
  }
  if (!encode_png(&ctx)) throw InternalError(path, std::string("cannot encode PNG: ") + ctx.message);
  write_file_atomic(path, ctx.out);
}

std::string encode_png_gray8_stored(int width, int height, const uint8_t* samples) {
  if (width <= 0 || height <= 0 || width > static_cast<int>(kMaxSide) || height > static_cast<int>(kMaxSide))
    throw InternalError("PNG", "size " + std::to_string(width) + " x " + std::to_string(height) + " is out of range");
  WriteContext ctx;
  ctx.width = width;
  ctx.height = height;
  ctx.bit_depth = 8;
  ctx.samples = samples;
  ctx.stored = true;
  if (!encode_png(&ctx)) throw InternalError("PNG", std::string("cannot encode: ") + ctx.message);
  return std::move(ctx.out);
}

std::vector<uint16_t> read_png_gray(const std::string& path, int* width, int* height, int* bit_depth) {
  const std::string data = read_file(path, 1ull << 30);
  if (data.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(data.data()), 0, 8) != 0)
    throw InputError(path, "not a PNG file (bad signature)");
  ReadContext ctx;
  ctx.data = &data;
  if (!decode_png(&ctx)) {
    if (ctx.not_gray)
      throw InputError(path,
                       "PNG is not 8- or 16-bit grayscale (colour type " + std::to_string(ctx.color_type) +
                           ", bit depth " + std::to_string(ctx.bit_depth) + ")",
                       "convert it to 8- or 16-bit grayscale");
    if (ctx.too_large || ctx.no_memory)
      throw InputError(path,
                       "PNG is too large (" + std::to_string(ctx.width) + " x " + std::to_string(ctx.height) + ")");
    throw InputError(path, std::string("broken PNG: ") + ctx.message);
  }
  const size_t n = static_cast<size_t>(ctx.width) * ctx.height;
  std::vector<uint16_t> out(n);
  for (size_t i = 0; i < n; ++i)
    out[i] =
        ctx.bit_depth == 16 ? static_cast<uint16_t>(ctx.pixels[2 * i] << 8 | ctx.pixels[2 * i + 1]) : ctx.pixels[i];
  *width = static_cast<int>(ctx.width);
  *height = static_cast<int>(ctx.height);
  *bit_depth = ctx.bit_depth;
  return out;
}

void write_png16(const Scan& scan, View view, const std::string& path) {
  if (scan.height <= 0 || scan.width <= 0 || scan.pixels.size() != 2 * scan.view_size())
    throw InputError(path, "scan '" + scan.id + "' has inconsistent size", "expected 2 x H x W values");
  if (!scan.has_view(view))
    throw InputError(path, "scan '" + scan.id + "' has no " + (view == kAnterior ? "anterior" : "posterior") + " view");
  const float* p = scan.view(view);
  std::vector<uint16_t> samples(scan.view_size());
  for (size_t i = 0; i < samples.size(); ++i) {
    const float x = p[i];
    samples[i] = std::isfinite(x) && x > 0 ? static_cast<uint16_t>(std::min(std::nearbyint(x), 65535.f)) : 0;
  }
  write_png_gray(path, scan.width, scan.height, 16, samples.data());
}

void write_preview_png(const Scan& scan, const std::string& path, const PreviewOptions& options) {
  int w = 0, h = 0;
  std::vector<float> grey = preview_grey(scan, options, path, &w, &h);
  write_gray8(path, w, h, grey);
}

void write_contact_sheet(const std::vector<const Scan*>& scans, const std::vector<std::string>& captions,
                         const std::string& path, const ContactSheetOptions& options) {
  if (scans.size() != captions.size())
    throw InputError(path, std::to_string(scans.size()) + " scans but " + std::to_string(captions.size()) + " captions",
                     "give one caption per scan");
  if (scans.empty()) throw InputError(path, "no scans for the contact sheet");
  if (options.columns < 1 || options.columns > 1000)
    throw ConfigError(path, "contact sheet columns is " + std::to_string(options.columns), "use 1..1000");
  if (options.tile_height < 16 || options.tile_height > 8192)
    throw ConfigError(path, "contact sheet tile_height is " + std::to_string(options.tile_height), "use 16..8192");

  // Tiles: each preview scaled to tile_height, aspect kept.
  const int th = options.tile_height;
  std::vector<std::vector<float>> tiles;
  std::vector<int> tile_w;
  int max_w = 0;
  for (size_t i = 0; i < scans.size(); ++i) {
    if (!scans[i]) throw InputError(path, "scan " + std::to_string(i) + " is missing");
    int pw = 0, ph = 0;
    std::vector<float> grey = preview_grey(*scans[i], options.preview, path, &pw, &ph);
    const int tw = std::max(1, static_cast<int>(std::lround(static_cast<double>(pw) * th / ph)));
    tiles.push_back(resize_area(grey, pw, ph, tw, th));
    tile_w.push_back(tw);
    max_w = std::max(max_w, tw);
  }

  // Layout: cells of (margin + tile + caption) in a grid, white background. Cells are wide
  // enough for captions of up to kMaxCaption characters at 1x; the font is drawn at 2x when
  // tiles are tall and every caption then still fits.
  constexpr size_t kMaxCaption = 40;
  size_t longest = 0;
  for (const std::string& c : captions) longest = std::max(longest, std::min(c.size(), kMaxCaption));
  const int text_room = std::max(max_w, static_cast<int>(longest) * 6);
  const int scale = th >= 160 && static_cast<int>(longest) * 12 <= text_room ? 2 : 1;
  const int advance = 6 * scale, margin = 4 * scale + 4;
  const int caption_h = 7 * scale + 2 * margin;
  const int cell_w = text_room + 2 * margin;
  const int cell_h = margin + th + caption_h;
  const int cols = std::min<int>(options.columns, static_cast<int>(scans.size()));
  const int rows = static_cast<int>((scans.size() + cols - 1) / cols);
  const int sheet_w = cols * cell_w, sheet_h = rows * cell_h;
  if (static_cast<uint64_t>(sheet_w) * sheet_h > kMaxSamples)
    throw ConfigError(path,
                      "contact sheet would be " + std::to_string(sheet_w) + " x " + std::to_string(sheet_h) + " pixels",
                      "use fewer scans per sheet or a smaller tile_height");
  std::vector<float> sheet(static_cast<size_t>(sheet_w) * sheet_h, 255.f);
  const size_t max_chars = static_cast<size_t>((text_room + scale) / advance);
  for (size_t i = 0; i < scans.size(); ++i) {
    const int cx = static_cast<int>(i % cols) * cell_w, cy = static_cast<int>(i / cols) * cell_h;
    const int x0 = cx + (cell_w - tile_w[i]) / 2, y0 = cy + margin;
    for (int r = 0; r < th; ++r)
      std::copy_n(tiles[i].data() + static_cast<size_t>(r) * tile_w[i], tile_w[i],
                  sheet.data() + static_cast<size_t>(y0 + r) * sheet_w + x0);
    std::string text = captions[i];
    if (text.size() > max_chars)
      text = max_chars > 3 ? text.substr(0, max_chars - 3) + "..." : text.substr(0, max_chars);
    const int text_w = static_cast<int>(text.size()) * advance - scale;
    draw_text(sheet, sheet_w, sheet_h, cx + (cell_w - text_w) / 2, y0 + th + margin, text, scale);
  }
  write_gray8(path, sheet_w, sheet_h, sheet);
}

}  // namespace scintigen
