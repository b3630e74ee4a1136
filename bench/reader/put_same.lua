-- wrk script: PUT the same answer again and again (after the first, each is "unchanged": the
-- server reads, compares and commits nothing).
wrk.method = "PUT"
wrk.body = '{"call": "real", "confidence": 3}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
