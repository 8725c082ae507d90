/* Stand-ins for the AMD AMF helpers that PyAV's libavfilter was linked against but Qt's
 * libavutil does not build. Only AMF hardware filters call them; the app never uses those. */
#include <errno.h>
#define NOT_SUPPORTED (-ENOSYS)
int av_amf_display_mastering_meta_to_hdrmeta(void) { return NOT_SUPPORTED; }
int av_amf_extract_hdr_metadata(void) { return NOT_SUPPORTED; }
int av_amf_get_color_profile(void) { return NOT_SUPPORTED; }
int av_amf_light_metadata_to_hdrmeta(void) { return NOT_SUPPORTED; }
int av_amf_to_av_format(void) { return -1; /* AV_PIX_FMT_NONE */ }
int av_av_to_amf_format(void) { return 0; /* AMF_SURFACE_UNKNOWN */ }
