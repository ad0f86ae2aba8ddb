#include <vips/vips.h>

// libvips's calls take NULL-terminated option lists, which Swift cannot call;
// these fixed-argument wrappers are all the files plugin uses.

/// Starts libvips once per process: untrusted loaders blocked, no operation cache, one thread per call.
static inline int quik_vips_start(void) {
    if (VIPS_INIT("quikapp")) return -1;
    vips_block_untrusted_set(TRUE);
    vips_cache_set_max(0);
    vips_concurrency_set(1);
    return 0;
}

/// The loader libvips would use for these bytes, or NULL.
static inline const char *quik_vips_loader(const void *buffer, size_t length) {
    return vips_foreign_find_load_buffer(buffer, length);
}

/// Width and height as shown (EXIF orientations 5–8 swap them), read from the header only.
static inline int quik_vips_size(const void *buffer, size_t length, int *width, int *height) {
    VipsImage *image = vips_image_new_from_buffer(buffer, length, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!image) return -1;
    int orientation = 1;
    if (vips_image_get_typeof(image, VIPS_META_ORIENTATION)) vips_image_get_int(image, VIPS_META_ORIENTATION, &orientation);
    int w = vips_image_get_width(image), h = vips_image_get_height(image);
    int swap = orientation >= 5 && orientation <= 8;
    *width = swap ? h : w;
    *height = swap ? w : h;
    g_object_unref(image);
    return 0;
}

/// An image fitting width × height (never enlarged, EXIF orientation applied), as JPEG,
/// or PNG when it has transparency. The buffer is freed with quik_vips_free.
static inline int quik_vips_thumbnail(const void *buffer, size_t length, int width, int height, void **out, size_t *out_length, int *png) {
    VipsImage *thumbnail = NULL;
    if (vips_thumbnail_buffer((void *)buffer, length, &thumbnail, width, "height", height, "size", VIPS_SIZE_DOWN,
            "fail_on", VIPS_FAIL_ON_ERROR, NULL))
        return -1;
    *png = vips_image_hasalpha(thumbnail);
    int failed = *png ? vips_pngsave_buffer(thumbnail, out, out_length, "strip", TRUE, NULL)
                      : vips_jpegsave_buffer(thumbnail, out, out_length, "Q", 85, "strip", TRUE, NULL);
    g_object_unref(thumbnail);
    return failed;
}

/// A width × height JPEG of noise, for benchmarks. The buffer is freed with quik_vips_free.
static inline int quik_vips_sample_jpeg(int width, int height, void **out, size_t *out_length) {
    VipsImage *noise = NULL, *bytes = NULL, *two = NULL, *colour = NULL;
    int failed = vips_gaussnoise(&noise, width, height, "mean", 128.0, "sigma", 40.0, NULL)
        || vips_cast_uchar(noise, &bytes, NULL)
        || vips_bandjoin_const1(bytes, &two, 0.0, NULL)
        || vips_bandjoin_const1(two, &colour, 255.0, NULL);
    if (noise) g_object_unref(noise);
    if (bytes) g_object_unref(bytes);
    if (two) g_object_unref(two);
    if (failed) return -1;
    failed = vips_jpegsave_buffer(colour, out, out_length, "Q", 85, NULL);
    g_object_unref(colour);
    return failed;
}

static inline void quik_vips_free(void *pointer) { g_free(pointer); }

/// libvips's last error text, then cleared (never holds file contents).
static inline const char *quik_vips_error(void) { return vips_error_buffer(); }
static inline void quik_vips_error_clear(void) { vips_error_clear(); }
