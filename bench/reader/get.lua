-- wrk script: GET the path given on the command line with the reader's token (env TOKEN).
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
