#include <cblas.h>
/* OpenBLAS extensions (declared in openblas_config.h, included by cblas.h). */
