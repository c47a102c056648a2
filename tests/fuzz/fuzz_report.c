/*
 * fuzz_report.c - libFuzzer target for the DMARC aggregate report reader
 * (installer/report.h): the input is one file as `mailstage report FILE`
 * gets it (bare XML, gzip, zip or a mail message), read by dmarc_read().
 *
 * Checked, beyond "no crash": a rejected input has a message; an accepted
 * report has an org, an id, a domain and at least one record, begin <= end,
 * every record a source IP and a count, messages is the sum of the counts
 * and dmarc_pass the sum of those with evaluated dkim or spf pass (never
 * more than messages), and its --json object is one line that starts with
 * {"org": and ends with ]}.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "report.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmarc_report rp;
	char *why = NULL, *j;
	long long sum = 0, pass = 0;
	size_t i;
	int r;

	msg_journal_enabled = 0;
	r = dmarc_read((const char *)data, size, &rp, &why);
	if (r < 0) {
		CHECK(r == -ENOMSG || (why && *why));
		CHECK(rp.rec == NULL && rp.org == NULL);
		free(why);
		return 0;
	}
	CHECK(!why);
	CHECK(rp.org && *rp.org && rp.report_id && *rp.report_id && rp.domain && *rp.domain);
	CHECK(rp.n >= 1 && rp.n <= REPORT_MAX_RECORDS && rp.begin <= rp.end);
	for (i = 0; i < rp.n; i++) {
		const struct dmarc_record *x = &rp.rec[i];
		CHECK(x->source_ip && x->count >= 0 && x->disposition && x->dkim && x->spf);
		CHECK(x->dkim_raw && x->spf_raw && x->header_from);
		sum += x->count;
		if (strcmp(x->dkim, "pass") == 0 || strcmp(x->spf, "pass") == 0)
			pass += x->count;
	}
	CHECK(sum == rp.messages && pass == rp.dmarc_pass && pass <= sum);
	j = dmarc_json(&rp);
	CHECK(strncmp(j, "{\"org\":", 7) == 0 && strlen(j) >= 2 && strcmp(j + strlen(j) - 2, "]}") == 0);
	CHECK(!strchr(j, '\n'));
	free(j);
	dmarc_report_free(&rp);
	return 0;
}
