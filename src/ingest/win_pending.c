/*
 * win_pending.c - placeholder entry points for the Windows decoders while
 * they are being written (win_evtx.c, win_json.c, win_map.c replace it).
 */
#include "vg_ingest.h"

vg_err vg_decode_evtx_json(vg_batchset *set, const vg_ingest_opts *o, vg_str rec, vg_diag *d)
{
    return vg_diag_set(d, VG_EUNSUPPORTED, "evtx-json decoding is not built yet");
}

vg_err vg_decode_winlogbeat(vg_batchset *set, const vg_ingest_opts *o, vg_str rec, vg_diag *d)
{
    return vg_diag_set(d, VG_EUNSUPPORTED, "winlogbeat decoding is not built yet");
}

vg_err vg_decode_evtx_file(vg_batchset *set, const vg_ingest_opts *o, vg_str file,
                           vg_reject_fn reject, void *reject_ctx, vg_ingest_result *res,
                           vg_diag *d)
{
    return vg_diag_set(d, VG_EUNSUPPORTED, "evtx decoding is not built yet");
}
