# Reference values from R pROC and survival on the cases written by stats_cases.py.
# Usage: Rscript stats_reference.R OUTDIR   ->  OUTDIR/expected_r.tsv (case<TAB>key<TAB>value)
suppressPackageStartupMessages({
  library(pROC)
  library(survival)
})
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
lines <- character(0)
put <- function(case, key, value) {
  v <- if (length(value) == 0 || is.na(value) || !is.finite(value)) "NA" else sprintf("%.17g", value)
  lines <<- c(lines, paste(case, key, v, sep = "\t"))
}
cases <- read.delim(file.path(out, "cases.tsv"), header = FALSE, col.names = c("kind", "case"),
                    stringsAsFactors = FALSE)

# ---- pROC: DeLong AUC, variance, CI; paired and unpaired roc.test ----------------------------
rocs <- list()
for (case in cases$case[cases$kind == "roc"]) {
  d <- read.csv(file.path(out, paste0("roc_", case, ".csv")))
  r1 <- roc(d$label, d$score1, levels = c(0, 1), direction = "<", quiet = TRUE)
  r2 <- roc(d$label, d$score2, levels = c(0, 1), direction = "<", quiet = TRUE)
  rocs[[case]] <- r1
  for (k in 1:2) {
    r <- if (k == 1) r1 else r2
    ci <- suppressWarnings(ci.auc(r, method = "delong"))
    put(case, paste0("proc.auc", k), as.numeric(auc(r)))
    put(case, paste0("proc.var", k), suppressWarnings(var(r, method = "delong")))
    put(case, paste0("proc.ci", k, ".lo"), ci[1])
    put(case, paste0("proc.ci", k, ".hi"), ci[3])
  }
  if (sum(d$label == 1) >= 2 && sum(d$label == 0) >= 2) {
    t <- suppressWarnings(roc.test(r1, r2, method = "delong", paired = TRUE))
    put(case, "proc.paired.z", t$statistic)
    put(case, "proc.paired.p", t$p.value)
    put(case, "proc.paired.ci.lo", t$conf.int[1])
    put(case, "proc.paired.ci.hi", t$conf.int[2])
  }
}
for (pair in list(c("random", "ties"), c("random", "imbalanced"), c("ties", "inverted"), c("n4", "random"))) {
  t <- suppressWarnings(roc.test(rocs[[pair[1]]], rocs[[pair[2]]], method = "delong", paired = FALSE))
  case <- paste0("unpaired.", pair[1], ".", pair[2])
  put(case, "proc.D", t$statistic)
  put(case, "proc.df", t$parameter)
  put(case, "proc.p", t$p.value)
}

# ---- survival: survfit (log CI), quantile (median), survdiff, coxph (Efron) --------------------
for (case in cases$case[cases$kind == "surv"]) {
  d <- read.csv(file.path(out, paste0("surv_", case, ".csv")), stringsAsFactors = FALSE)
  groups <- sort(unique(d$group))
  for (g in c("all", groups)) {
    dd <- if (g == "all") d else d[d$group == g, ]
    fit <- survfit(Surv(time, event) ~ 1, data = dd)
    key <- paste0("km.", g)
    put(case, paste0(key, ".rows"), length(fit$time))
    for (i in seq_along(fit$time)) {
      k <- paste0(key, ".", i - 1)
      put(case, paste0(k, ".time"), fit$time[i])
      put(case, paste0(k, ".n_risk"), fit$n.risk[i])
      put(case, paste0(k, ".n_event"), fit$n.event[i])
      put(case, paste0(k, ".n_censor"), fit$n.censor[i])
      put(case, paste0(k, ".surv"), fit$surv[i])
      put(case, paste0(k, ".std_err"), fit$surv[i] * fit$std.err[i])
      put(case, paste0(k, ".lower"), fit$lower[i])
      put(case, paste0(k, ".upper"), fit$upper[i])
    }
    q <- quantile(fit, probs = 0.5)
    put(case, paste0(key, ".median"), q$quantile[1])
    put(case, paste0(key, ".median_lo"), q$lower[1])
    put(case, paste0(key, ".median_hi"), q$upper[1])
  }
  # Harrell's C of x1 as a risk score (higher = shorter survival), when a pair is comparable.
  cf <- tryCatch(concordance(Surv(time, event) ~ x1, data = d, reverse = TRUE), error = function(e) NULL)
  if (!is.null(cf) && sum(cf$count[c("concordant", "discordant", "tied.x")]) > 0) put(case, "conc.x1", cf$concordance)
  if (length(groups) >= 2) {
    sd <- survdiff(Surv(time, event) ~ group, data = d)
    df <- sum(sd$exp > 0) - 1
    put(case, "logrank.chisq", sd$chisq)
    put(case, "logrank.df", df)
    put(case, "logrank.p", if (df > 0) pchisq(sd$chisq, df, lower.tail = FALSE) else NA)
    for (i in seq_along(groups)) {
      put(case, paste0("logrank.obs.", groups[i]), sd$obs[i])
      put(case, paste0("logrank.exp.", groups[i]), sd$exp[i])
    }
    # Cox on group (+ covariates) and on x1 alone, Efron ties, converged tightly.
    d$group <- factor(d$group, levels = groups)
    ctl <- coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 100)
    models <- list(full = Surv(time, event) ~ group + x1 + x2, x1 = Surv(time, event) ~ x1)
    for (m in names(models)) {
      fit <- tryCatch(coxph(models[[m]], data = d, ties = "efron", control = ctl), warning = function(w) NULL)
      if (is.null(fit)) next
      s <- summary(fit)
      for (j in seq_along(coef(fit))) {
        k <- paste0("cox.", m, ".", j - 1)
        put(case, paste0(k, ".beta"), coef(fit)[j])
        put(case, paste0(k, ".se"), sqrt(diag(vcov(fit)))[j])
        put(case, paste0(k, ".p"), s$coefficients[j, "Pr(>|z|)"])
        put(case, paste0(k, ".hr_lo"), s$conf.int[j, "lower .95"])
        put(case, paste0(k, ".hr_hi"), s$conf.int[j, "upper .95"])
      }
      put(case, paste0("cox.", m, ".loglik0"), fit$loglik[1])
      put(case, paste0("cox.", m, ".loglik"), fit$loglik[2])
      put(case, paste0("cox.", m, ".lr_p"), s$logtest["pvalue"])
    }
  }
}
writeLines(lines, file.path(out, "expected_r.tsv"))
