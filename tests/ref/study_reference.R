# Reference values from R survival on the files study_reference.py wrote: Cox models (Efron ties)
# of the study's survival analysis and Harrell's C (concordance, reverse = TRUE).
# Usage: Rscript study_reference.R OUTDIR   ->  OUTDIR/expected_r.tsv (case<TAB>key<TAB>value)
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
lines <- character(0)
put <- function(case, key, value) {
  v <- if (length(value) == 0 || is.na(value) || !is.finite(value)) "NA" else sprintf("%.17g", value)
  lines <<- c(lines, paste(case, key, v, sep = "\t"))
}
ctl <- coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 100)
put_cox <- function(case, prefix, fit) {
  s <- summary(fit)
  put(case, paste0(prefix, ".beta"), coef(fit)[1])
  put(case, paste0(prefix, ".se"), sqrt(diag(vcov(fit)))[1])
  put(case, paste0(prefix, ".hr"), exp(coef(fit)[1]))
  put(case, paste0(prefix, ".hr_lo"), s$conf.int[1, "lower .95"])
  put(case, paste0(prefix, ".hr_hi"), s$conf.int[1, "upper .95"])
  put(case, paste0(prefix, ".p"), s$coefficients[1, "Pr(>|z|)"])
}
conc <- function(time, event, score) {
  f <- concordance(Surv(time, event) ~ score, reverse = TRUE)
  c(f$concordance, f$count[["concordant"]], f$count[["discordant"]], f$count[["tied.x"]],
    f$count[["tied.y"]] + f$count[["tied.xy"]])  # two events at one time, scores tied or not
}

for (case in c("conc_random", "conc_tied")) {
  d <- read.csv(file.path(out, paste0(case, ".csv")))
  k <- conc(d$time, d$event, d$score)
  put(case, "c", k[1]); put(case, "concordant", k[2]); put(case, "discordant", k[3])
  put(case, "tied_score", k[4]); put(case, "tied_time", k[5])
}

cases <- read.csv(file.path(out, "study_cases.csv"), stringsAsFactors = FALSE, na.strings = "NA")
scores <- read.csv(file.path(out, "study_scores.csv"), stringsAsFactors = FALSE, check.names = FALSE)
design <- read.delim(file.path(out, "study_design.tsv"), header = FALSE, col.names = c("arm", "rep", "thr"),
                     stringsAsFactors = FALSE)
keep <- !is.na(cases$time) & cases$event >= 0
d <- cases[keep, ]
sc <- scores[keep, ]
fit <- coxph(Surv(time, event) ~ label + age + male, data = d, ties = "efron", control = ctl)
put_cox("study", "cox.true_label", fit)
put("study", "survival.cases", nrow(d))
put("study", "survival.events", sum(d$event))
for (i in seq_len(nrow(design))) {
  col <- paste0(design$arm[i], ".", design$rep[i])
  d$called <- as.integer(sc[[col]] >= design$thr[i])
  fit <- tryCatch(coxph(Surv(time, event) ~ called + age + male, data = d, ties = "efron", control = ctl),
                  warning = function(w) NULL)
  if (!is.null(fit)) put_cox("study", paste0("cox.", col), fit)
  put("study", paste0("c.", col), conc(d$time, d$event, sc[[col]])[1])
}
writeLines(lines, file.path(out, "expected_r.tsv"))
