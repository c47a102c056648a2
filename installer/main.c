/*
 * main.c - the mailstage command line.
 *
 * Parses options, then hands over to the runner.  Usage errors exit 64
 * before anything is read or changed.
 */
#include "cmd_dkim.h"
#include "cmd_dns.h"
#include "i18n.h"
#include "msg.h"
#include "payload.h"
#include "dnsq.h"
#include "verify.h"
#include "report.h"
#include "runner.h"
#include "sysrole.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --help, in blocks (one msgid each in po/mailstage.pot). */
static const char *const usage_text[] = {
	N_("Usage: mailstage [OPTIONS] COMMAND\n"
	   "\n"),
	N_("Turns a fresh server into an authenticated sending mail server (Postfix with\n"
	   "TLS and SASL submission, OpenDKIM, SPF/DKIM/DMARC records) in checkpointed\n"
	   "stages that roll back on failure and converge drift when run again.\n"
	   "\n"),
	N_("Commands:\n"
	   "  plan             show what apply would change (a diff per file); change nothing\n"
	   "  apply            converge every stage; on failure undo the whole run\n"
	   "  apply --resume   finish a run that was interrupted (crash, power loss)\n"
	   "  rollback [RUN]   undo the newest run that changed something, or run RUN\n"
	   "  status           runs, checkpoints, and whether a run was interrupted\n"
	   "  stages           the stages in order, one line each\n"
	   "  payload [--extract DIR]  list the built-in files, or write them under DIR\n"
	   "  dns [--format F] the DNS records to publish and the PTR to ask for; F: table,\n"
	   "                   zone (a zone file that loads as is), records (to paste), json\n"
	   "  dns --check      compare each record with the live DNS: expected and found\n"
	   "  verify           check the live server: services, ports, milter, keys, TLS,\n"
	   "                   queue, drift, DNS (A, MX, SPF, DKIM, DMARC, PTR), port 25\n"
	   "    --send-test ADDRESS   also send a test message (587 with --auth FILE, else sendmail)\n"
	   "    --resolver ADDR:PORT  ask this DNS server; --doh URL: DNS over HTTPS\n"
	   "  report [--since DAYS] [FILE...]  DMARC aggregate reports (XML, .gz, .zip or mail)\n"
	   "                   from FILEs, else from the mailbox the DMARC alias delivers to:\n"
	   "                   one table per report, then a summary with the fixes\n"
	   "    --digest        one line for the journal (the daily timer): pass rate and\n"
	   "                    failing sources over --since DAYS (default 1)\n"
	   "  dkim status      the DKIM selectors: active, published-pending, retiring,\n"
	   "                   retired, with dates and whether DNS serves them (--json)\n"
	   "\n"),
	N_("Options:\n"
	   "  -c, --config FILE   configuration (default /etc/mailstage/mailstage.conf in the root)\n"
	   "      --root DIR      act on the system installed under DIR (default /)\n"
	   "      --profile NAME  el7, el8, el9 or debian12 instead of reading os-release\n"
	   "      --only STAGE,.. run only these stages; --skip STAGE,.. all but these\n"
	   "      --json          one JSON result per stage on stdout\n"
	   "  -v, --verbose       show every action;  -q, --quiet  only warnings and errors\n"
	   "  -h, --help          this text;  -V, --version  the version\n"
	   "\n"),
	N_("Exit codes:\n"
	   "  0 done / converged     1 failed (rollback refused or incomplete)\n"
	   "  2 plan: changes pending\n"
	   "  3 apply failed, system restored    4 apply failed, restore incomplete\n"
	   "  64 usage   69 missing program   74 I/O error (state directory, disk full)\n"
	   "  75 another run holds the lock, or an interrupted run must be resolved first\n"
	   "  77 permission denied   78 bad configuration or unsupported OS\n"
	   "\n"),
	N_("Examples:\n"
	   "  mailstage plan                 what would change on this host\n"
	   "  mailstage apply                make it so\n"
	   "  mailstage --only tls plan      one stage\n"
	   "  mailstage rollback             undo the last apply\n"
	   "\n"),
	N_("State and backups live in /var/lib/mailstage. See mailstage(8) and mailstage.conf(5).\n"),
};

static void usage_error(const char *fmt, const char *arg) ATTR_PRINTF(1, 0) ATTR_NORETURN;

/*
 * --only/--skip STAGE,...  A list that names no stage ("", ",", " ": a
 * script's empty variable) is a usage error, never "every stage".
 */
static void split_list(struct strv *v, const char *opt, const char *arg)
{
	char *copy = xstrdup(arg), *save = NULL, *w;
	size_t before = v->n;
	for (w = strtok_r(copy, ", ", &save); w; w = strtok_r(NULL, ", ", &save))
		strv_push(v, w);
	free(copy);
	if (v->n == before)
		usage_error(_("%s names no stage; give STAGE,... (`mailstage stages` lists them)"), opt);
}

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "mailstage: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s\n", _("Try `mailstage --help`."));
	exit(EXIT_USAGE);
}

int main(int argc, char **argv)
{
	enum { OPT_ROOT = 256, OPT_ONLY, OPT_SKIP, OPT_JSON, OPT_PROFILE, OPT_RESUME, OPT_EXTRACT, OPT_RESOLVER, OPT_DOH, OPT_SEND_TEST, OPT_AUTH,
	       OPT_TIMEOUT, OPT_CHECK, OPT_FORMAT, OPT_SINCE, OPT_DIGEST };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "skip", required_argument, NULL, OPT_SKIP },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "resume", no_argument, NULL, OPT_RESUME },
		{ "extract", required_argument, NULL, OPT_EXTRACT },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "digest", no_argument, NULL, OPT_DIGEST },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "resolver", required_argument, NULL, OPT_RESOLVER },
		{ "doh", required_argument, NULL, OPT_DOH },
		{ "send-test", required_argument, NULL, OPT_SEND_TEST },
		{ "auth", required_argument, NULL, OPT_AUTH },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const system_commands[] = { "apply", "plan", "rollback", "verify", "dkim" };
	struct run_opts o;
	struct verify_opts vo;
	const char *cmd, *extract = NULL, *format = NULL;
	long since = 0;
	int c, rc, digest = 0;

	i18n_init();
	memset(&o, 0, sizeof(o));
	memset(&vo, 0, sizeof(vo));
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case OPT_ROOT: o.root = optarg; break;
		case OPT_ONLY: split_list(&o.only, "--only", optarg); break;
		case OPT_SKIP: split_list(&o.skip, "--skip", optarg); break;
		case OPT_JSON: o.json = 1; break;
		case OPT_PROFILE: o.profile = optarg; break;
		case OPT_RESUME: o.resume = 1; break;
		case OPT_EXTRACT: extract = optarg; break;
		case OPT_FORMAT: format = optarg; break;
		case OPT_DIGEST: digest = 1; break;
		case OPT_SINCE: {
			char *end = NULL;
			since = strtol(optarg, &end, 10);
			if (!*optarg || *end || since < 1 || since > 36500)
				usage_error(_("--since %s: a number of days, 1 to 36500"), optarg);
			break;
		}
		case OPT_CHECK: vo.dns_only = 1; break;
		case OPT_RESOLVER:
			if (dnsq_parse_server(optarg) < 0)
				usage_error(_("--resolver %s: expected IPV4-ADDRESS:PORT, e.g. 127.0.0.1:5353"), optarg);
			vo.resolver = optarg;
			break;
		case OPT_DOH:
			if (dnsq_parse_doh_url(optarg, NULL, NULL, NULL) < 0)
				usage_error(_("--doh %s: expected an https:// URL, e.g. --doh https://dns.google/resolve "
					      "(http:// only to a loopback address, e.g. http://127.0.0.1:8053/resolve)"), optarg);
			vo.doh = optarg;
			break;
		case OPT_SEND_TEST: vo.send_test = optarg; break;
		case OPT_AUTH: vo.auth_file = optarg; break;
		case OPT_TIMEOUT:
			vo.timeout_s = atoi(optarg);
			if (vo.timeout_s < 1 || vo.timeout_s > 60)
				usage_error(_("--timeout %s: seconds, 1 to 60"), optarg);
			break;
		case 'v': msg_verbosity = MSG_VERBOSE; break;
		case 'q': msg_verbosity = MSG_QUIET; break;
		case 'h': {
			size_t k;
			for (k = 0; k < sizeof(usage_text) / sizeof(usage_text[0]); k++)
				fputs(_(usage_text[k]), stdout);
			return EXIT_OK;
		}
		case 'V': printf("mailstage %s\n", MAILSTAGE_VERSION); return EXIT_OK;
		case ':': usage_error(_("option %s needs an argument"), argv[optind - 1]); break;
		default: usage_error(_("unknown option %s"), argv[optind - 1]); break;
		}
	}
	/* --json output is for programs: its texts stay the English originals. */
	if (o.json)
		i18n_english();
	if (optind >= argc)
		usage_error(_("%sno command given (plan, apply, rollback, status, stages, payload)"), "");
	cmd = argv[optind++];
	if (o.resume && strcmp(cmd, "apply") != 0)
		usage_error(_("--resume belongs to apply, not %s"), cmd);
	if (extract && strcmp(cmd, "payload") != 0)
		usage_error(_("--extract belongs to payload, not %s"), cmd);
	if (format && strcmp(cmd, "dns") != 0)
		usage_error(_("--format belongs to dns, not %s"), cmd);
	if (since && strcmp(cmd, "report") != 0)
		usage_error(_("--since belongs to report, not %s"), cmd);
	if (digest && strcmp(cmd, "report") != 0)
		usage_error(_("--digest belongs to report, not %s"), cmd);
	/* apply and plan ask the same DNS server as verify (the DKIM rotation waits for it) */
	stage_set_resolver(vo.resolver);
	/* The commands that start the host's programs run under system_r where the role matters (sysrole.h). */
	for (c = 0; c < (int)ARRAY_SIZE(system_commands); c++)
		if (strcmp(cmd, system_commands[c]) == 0)
			sysrole_reexec_if_needed(o.root, argc, argv);
	if (strcmp(cmd, "report") == 0) {
		rc = cmd_report(&o, since, digest, argv + optind, (size_t)(argc - optind));
		goto out;
	}
	if (strcmp(cmd, "dkim") == 0) {
		rc = cmd_dkim(&o, vo.resolver, argv + optind, (size_t)(argc - optind));
		goto out;
	}
	if (strcmp(cmd, "rollback") == 0) {
		if (argc - optind > 1)
			usage_error(_("rollback takes at most one run number, got \"%s\""), argv[optind + 1]);
		rc = cmd_rollback(&o, optind < argc ? argv[optind] : NULL);
		goto out;
	}
	if (optind < argc)
		usage_error(_("unexpected argument \"%s\""), argv[optind]);
	if (strcmp(cmd, "plan") == 0)
		rc = cmd_plan(&o);
	else if (strcmp(cmd, "apply") == 0)
		rc = cmd_apply(&o);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(&o);
	else if (strcmp(cmd, "stages") == 0)
		rc = cmd_stages(&o);
	else if (strcmp(cmd, "payload") == 0)
		rc = cmd_payload(extract);
	else if (strcmp(cmd, "dns") == 0 && vo.dns_only)
		rc = cmd_verify(&o, &vo);
	else if (strcmp(cmd, "dns") == 0)
		rc = cmd_dns(&o, format);
	else if (strcmp(cmd, "verify") == 0)
		rc = cmd_verify(&o, &vo);
	else
		usage_error(_("unknown command \"%s\" (plan, apply, rollback, status, stages, dns, verify, report, dkim, payload)"), cmd);
out:
	strv_free(&o.only);
	strv_free(&o.skip);
	return rc;
}
