/* store_pending.c - placeholder: the store is being written (replaced by store_*.c). */
#include "vg_store.h"
