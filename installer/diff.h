/*
 * diff.h - unified diff of two texts (for `mailstage plan`).
 */
#ifndef MAILSTAGE_DIFF_H
#define MAILSTAGE_DIFF_H

#include "util.h"

/*
 * Append to out a unified diff (3 lines of context, "--- label_a" /
 * "+++ label_b" headers, "@@ -l,n +l,n @@" hunks, "\ No newline at end of
 * file" where needed) turning a into b.  Returns the number of changed
 * lines (added + removed); 0 and nothing appended when equal.
 */
int diff_unified(const char *a, size_t alen, const char *b, size_t blen,
		 const char *label_a, const char *label_b, struct buf *out);

#endif
