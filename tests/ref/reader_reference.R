# Reference values from R pROC for `scintigen reader report`: each reader's AUC of the 10-point
# rating (call "synthetic" with confidence c -> 5 + c, "real" -> 6 - c; positive = synthetic
# origin) over the cases that reader answered, its DeLong variance and CI (ci.auc, method
# "delong", 95%).
# Usage: Rscript reader_reference.R DIR  (reads DIR/answers_long.csv) -> DIR/expected_r.tsv
# (key<TAB>value)
suppressPackageStartupMessages(library(pROC))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
lines <- character(0)
put <- function(key, value) {
  v <- if (length(value) == 0 || is.na(value) || !is.finite(value)) "NA" else sprintf("%.17g", value)
  lines <<- c(lines, paste(key, v, sep = "\t"))
}
d <- read.csv(file.path(dir, "answers_long.csv"), stringsAsFactors = FALSE)
for (name in unique(d$reader)) {
  m <- d[d$reader == name, ]
  y <- as.integer(m$origin == "synthetic")
  rating <- ifelse(m$call == "synthetic", 5 + m$confidence, 6 - m$confidence)
  r <- roc(y, rating, levels = c(0, 1), direction = "<", quiet = TRUE)
  ci <- ci.auc(r, method = "delong", conf.level = 0.95)
  k <- paste0("reader.", name)
  put(paste0(k, ".auc"), as.numeric(auc(r)))
  put(paste0(k, ".var"), var(r, method = "delong"))
  put(paste0(k, ".auc.lo"), ci[1])
  put(paste0(k, ".auc.hi"), ci[3])
}
writeLines(lines, file.path(dir, "expected_r.tsv"))
