/*
 * verify_send.c - `mailstage verify --send-test ADDRESS`: a test message
 * through the local server (587 with STARTTLS and AUTH when --auth gives
 * the credentials, else sendmail), then whether OpenDKIM logged its
 * signature.
 */
#include "verify.h"
#include "verify_check.h"
#include "exec.h"
#include "i18n.h"
#include "lazylib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- a test message through the local server ---- */

struct smtp_log {
	struct buf in;
};

static int smtp_debug(CURL *c, curl_infotype t, char *data, size_t n, void *arg)
{
	(void)c;
	if (t == CURLINFO_HEADER_IN)
		buf_append(&((struct smtp_log *)arg)->in, data, n);
	return 0;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t smtp_read(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb < u->left ? size * nmemb : u->left;
	memcpy(ptr, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

static void send_test(struct vctx *vc)
{
	char *from = xasprintf("postmaster@%s", vc->cfg->domain), msgid[64], *msg, *qid = NULL;
	char *user = NULL, *pass = NULL, *lazy_why = NULL;
	unsigned char rnd[8];
	struct smtp_log lg = { { 0 } };
	time_t now = time(NULL);
	char date[64];

	random_bytes(rnd, sizeof(rnd));
	snprintf(msgid, sizeof(msgid), "mailstage-%02x%02x%02x%02x%02x%02x%02x%02x@%s", rnd[0], rnd[1], rnd[2], rnd[3],
		 rnd[4], rnd[5], rnd[6], rnd[7], vc->cfg->hostname);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", gmtime(&now));
	msg = xasprintf("From: <%s>\r\nTo: <%s>\r\nSubject: mailstage verify test\r\nDate: %s\r\nMessage-ID: <%s>\r\n\r\n"
			"A test message from `mailstage verify --send-test`.\r\n", from, vc->opts->send_test, date, msgid);
	if (vc->opts->auth_file) {
		char *text = NULL, *save = NULL;
		if (read_whole_file(vc->opts->auth_file, &text, NULL) == 0) {
			char *u = strtok_r(text, "\n", &save), *p = strtok_r(NULL, "\n", &save);
			user = u ? xstrdup(strip(u)) : NULL;
			pass = p ? xstrdup(strip(p)) : NULL;
			memset(text, 0, strlen(text));
		}
		free(text);
	}
	if (user && pass && lazy_curl(&lazy_why) < 0) {
		vc->found.test_message = verify_add(vc, ST_FAIL, _("test message"), _("accepted on 587 with STARTTLS and AUTH"), _("install libcurl"),
		    "%s", lazy_why);
	} else if (user && pass) {
		CURL *c = curl_easy_init();
		struct curl_slist *rcpt = curl_slist_append(NULL, vc->opts->send_test);
		struct upload up = { msg, strlen(msg) };
		char *url = xasprintf("smtp://127.0.0.1:587/%s", vc->cfg->hostname);
		CURLcode cr;
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);	/* the local, maybe self-signed, certificate */
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(c, CURLOPT_USERNAME, user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
		curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
		curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);	/* else libcurl >= 7.34 sends VRFY */
		curl_easy_setopt(c, CURLOPT_READFUNCTION, smtp_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
		curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, smtp_debug);
		curl_easy_setopt(c, CURLOPT_DEBUGDATA, &lg);
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		cr = curl_easy_perform(c);
		if (cr != CURLE_OK) {
			vc->found.test_message = verify_add(vc, ST_FAIL, _("test message"), _("accepted on 587 with STARTTLS and AUTH"),
			    _("check the SASL service and `journalctl -u postfix`"), "%s", curl_easy_strerror(cr));
		} else {
			const char *q = lg.in.data ? strstr(lg.in.data, "queued as ") : NULL;
			if (q) {
				size_t l = strcspn(q + 10, "\r\n ");
				qid = xstrndup(q + 10, l);
			}
			vc->found.test_message = verify_add(vc, ST_OK, _("test message"), _("accepted on 587 with STARTTLS and AUTH"), NULL,
			    _("queued as %s"), qid ? qid : "?");
		}
		curl_slist_free_all(rcpt);
		curl_easy_cleanup(c);
		free(url);
	} else {
		char *argv[] = { "sendmail", "-oi", "-f", from, (char *)vc->opts->send_test, NULL };
		struct exec_result res;
		if (exec_run(argv, msg, 30000, &res) < 0 || res.exit_code != 0)
			vc->found.test_message = verify_add(vc, ST_FAIL, _("test message"), _("accepted by sendmail"), _("read `journalctl -u postfix`"),
			    _("sendmail failed%s%s"), res.out.data ? ": " : "", res.out.data ? res.out.data : "");
		else
			vc->found.test_message = verify_add(vc, ST_OK, _("test message"), _("accepted by sendmail"), NULL, _("submitted, Message-ID <%s>"), msgid);
		buf_free(&res.out);
	}
	/* Did Postfix log the DKIM signature for it?  Ask the journal, then the classic log files. */
	{
		int signed_ = 0, tries;
		for (tries = 0; tries < 10 && !signed_; tries++) {
			char *jargv[] = { "journalctl", "-q", "--no-pager", "-o", "cat", "--since", "-5min", NULL };
			struct exec_result jr;
			const char *logs[] = { "/var/log/mail.log", "/var/log/maillog" };
			size_t i;
			struct buf all = { 0 };
			if (exec_run(jargv, NULL, 10000, &jr) == 0 && jr.out.data)
				buf_puts(&all, jr.out.data);
			buf_free(&jr.out);
			for (i = 0; i < 2; i++) {
				char *t = NULL;
				if (read_whole_file(logs[i], &t, NULL) == 0)
					buf_puts(&all, t);
				free(t);
			}
			if (all.data) {
				/* The queue id of a sendmail submission is found through its Message-ID. */
				if (!qid) {
					const char *m = strstr(all.data, msgid);
					if (m) {
						const char *ls = m;
						while (ls > all.data && ls[-1] != '\n')
							ls--;
						{
							const char *c2 = strstr(ls, ": message-id=");
							const char *b = c2;
							while (b && b > ls && b[-1] != ' ')
								b--;
							if (c2 && b)
								qid = xstrndup(b, (size_t)(c2 - b));
						}
					}
				}
				if (qid) {
					char *needle = xasprintf("%s: DKIM-Signature field added", qid);
					signed_ = strstr(all.data, needle) != NULL;
					free(needle);
				}
			}
			buf_free(&all);
			if (!signed_)
				sleep(1);
		}
		verify_add(vc, signed_ ? ST_OK : ST_WARN, _("DKIM signature logged"), _("DKIM-Signature field added"),
		    _("check that OpenDKIM runs in Mode sv and that smtpd_milters points at it"), "%s",
		    signed_ ? _("OpenDKIM signed the test message") : qid ? _("no DKIM line in the log for it yet") :
								     _("the queue id was not found in the log"));
	}
	free(qid);
	free(lazy_why);
	free(user);
	if (pass)
		memset(pass, 0, strlen(pass));
	free(pass);
	free(msg);
	free(from);
	buf_free(&lg.in);
}

const struct verify_check verify_send[] = {
	{ "mail", "test message", send_test, VC_SEND_TEST },
	{ NULL, NULL, NULL, 0 },
};
