-- Envoy Lua filter: the API's error format behind grpc_json_transcoder.
--
-- With convert_grpc_status the transcoder answers a failed call with the
-- google.rpc.Status as JSON: {"code":5,"message":"...","details":[{"@type":
-- "type.googleapis.com/payments.v1.ErrorDetail","type":...}]}. Merchants must
-- get {"error": {...}} instead, with the HTTP status of gateway/errors.ts
-- (the Node gateway): this file mirrors that table, 402 for card errors, and
-- prints the error object in ErrorDetail's field order, escaped as
-- JSON.stringify does, so both gateways answer byte for byte the same.
-- Only error responses with a JSON body are read; streams pass untouched.

local M = {}

local ERROR_DETAIL_TYPE = "type.googleapis.com/payments.v1.ErrorDetail"

-- gRPC status code -> HTTP status (gateway/errors.ts HTTP_STATUS_OF_GRPC).
local HTTP_STATUS_OF_GRPC = {
  [0] = 200, [1] = 499, [2] = 500, [3] = 400, [4] = 504, [5] = 404, [6] = 409, [7] = 403,
  [8] = 429, [9] = 400, [10] = 409, [11] = 400, [12] = 501, [13] = 500, [14] = 503, [15] = 500,
  [16] = 401,
}

-- ErrorDetail's fields in proto order; true: optional (left out when absent).
local DETAIL_FIELDS = {
  { "type", false }, { "code", false }, { "message", false }, { "decline_code", true },
  { "param", true }, { "request_id", true }, { "payment_intent", true }, { "charge", true },
  { "payment_method", true },
}

--- The HTTP status of a failed call: the table, except card errors are 402.
function M.http_status(grpc_code, error_type)
  if error_type == "card_error" then return 402 end
  return HTTP_STATUS_OF_GRPC[grpc_code] or 500
end

-- JSON decoding: a small complete reader (objects, arrays, strings with
-- escapes and surrogate pairs, numbers, true/false/null).

local function utf8_char(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 0x40), 0x80 + cp % 0x40) end
  if cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 0x1000), 0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
  end
  return string.char(0xF0 + math.floor(cp / 0x40000), 0x80 + math.floor(cp / 0x1000) % 0x40,
    0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

local ESCAPES = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local decode_value

local function skip_ws(s, i)
  local _, e = s:find("^[ \t\r\n]*", i)
  return e + 1
end

local function decode_string(s, i)
  -- s:sub(i, i) == '"'
  local out, j = {}, i + 1
  while true do
    local c = s:sub(j, j)
    if c == "" then error("unterminated string") end
    if c == '"' then return table.concat(out), j + 1 end
    if c == "\\" then
      local e = s:sub(j + 1, j + 1)
      if e == "u" then
        local cp = tonumber(s:sub(j + 2, j + 5), 16)
        if not cp then error("bad \\u escape") end
        j = j + 6
        if cp >= 0xD800 and cp <= 0xDBFF and s:sub(j, j + 1) == "\\u" then
          local lo = tonumber(s:sub(j + 2, j + 5), 16)
          if lo and lo >= 0xDC00 and lo <= 0xDFFF then
            cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
            j = j + 6
          end
        end
        out[#out + 1] = utf8_char(cp)
      elseif ESCAPES[e] then
        out[#out + 1] = ESCAPES[e]
        j = j + 2
      else
        error("bad escape")
      end
    else
      local k = s:find('["\\]', j)
      if not k then error("unterminated string") end
      out[#out + 1] = s:sub(j, k - 1)
      j = k
    end
  end
end

decode_value = function(s, i)
  i = skip_ws(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    local obj = {}
    i = skip_ws(s, i + 1)
    if s:sub(i, i) == "}" then return obj, i + 1 end
    while true do
      if s:sub(i, i) ~= '"' then error("expected key") end
      local key
      key, i = decode_string(s, i)
      i = skip_ws(s, i)
      if s:sub(i, i) ~= ":" then error("expected :") end
      obj[key], i = decode_value(s, i + 1)
      i = skip_ws(s, i)
      local d = s:sub(i, i)
      if d == "}" then return obj, i + 1 end
      if d ~= "," then error("expected , or }") end
      i = skip_ws(s, i + 1)
    end
  elseif c == "[" then
    local arr = {}
    i = skip_ws(s, i + 1)
    if s:sub(i, i) == "]" then return arr, i + 1 end
    while true do
      arr[#arr + 1], i = decode_value(s, i)
      i = skip_ws(s, i)
      local d = s:sub(i, i)
      if d == "]" then return arr, i + 1 end
      if d ~= "," then error("expected , or ]") end
      i = i + 1
    end
  elseif c == '"' then
    return decode_string(s, i)
  elseif s:sub(i, i + 3) == "true" then
    return true, i + 4
  elseif s:sub(i, i + 4) == "false" then
    return false, i + 5
  elseif s:sub(i, i + 3) == "null" then
    return nil, i + 4
  end
  local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
  if not num or num == "" then error("unexpected character at " .. i) end
  return tonumber(num), i + #num
end

--- Parses JSON text; raises an error on malformed input.
function M.decode(s)
  local value, i = decode_value(s, 1)
  if skip_ws(s, i) <= #s then error("trailing characters") end
  return value
end

--- A string as JSON.stringify prints it.
function M.encode_string(s)
  return '"' .. s:gsub('[%z\1-\31"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    if c == "\b" then return "\\b" end
    if c == "\f" then return "\\f" end
    if c == "\n" then return "\\n" end
    if c == "\r" then return "\\r" end
    if c == "\t" then return "\\t" end
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

--- The `{"error": {...}}` body of an error detail, request_id filled in if missing.
function M.error_body(detail, request_id)
  local parts = {}
  for _, f in ipairs(DETAIL_FIELDS) do
    local name, optional = f[1], f[2]
    local value = detail[name]
    if name == "request_id" and value == nil then value = request_id end
    if value ~= nil or not optional then
      parts[#parts + 1] = M.encode_string(name) .. ":" .. M.encode_string(tostring(value or ""))
    end
  end
  return '{"error":{' .. table.concat(parts, ",") .. "}}"
end

--- The error detail for a status without one (gateway/errors.ts fallbackDetail).
function M.fallback_detail(grpc_code, message)
  if grpc_code == 14 then
    return { type = "api_error", code = "service_unavailable", message = "The service is temporarily unavailable. Retry later." }
  end
  if grpc_code == 4 then
    return { type = "api_error", code = "timeout", message = "The request timed out. Retry later." }
  end
  if message == nil or message == "" then message = "An unexpected error occurred." end
  return { type = "api_error", code = "internal_error", message = message }
end

--- google.rpc.Status JSON -> HTTP status and error body; nil if `text` is not a Status.
function M.rewrite(text, request_id)
  local ok, status = pcall(M.decode, text)
  if not ok or type(status) ~= "table" or status.error ~= nil then return nil end
  local code = status.code
  if type(code) ~= "number" then return nil end
  local detail
  if type(status.details) == "table" then
    for _, d in ipairs(status.details) do
      if type(d) == "table" and d["@type"] == ERROR_DETAIL_TYPE then detail = d end
    end
  end
  detail = detail or M.fallback_detail(code, status.message)
  return M.http_status(code, detail.type), M.error_body(detail, request_id)
end

--- Envoy entry point: rewrites JSON error responses, leaves everything else alone.
function envoy_on_response(handle)
  local headers = handle:headers()
  local status = tonumber(headers:get(":status")) or 200
  local content_type = headers:get("content-type") or ""
  if status < 400 or content_type:sub(1, 16) ~= "application/json" then return end
  local body = handle:body()
  if body == nil then return end
  local new_status, new_body = M.rewrite(body:getBytes(0, body:length()), headers:get("request-id") or headers:get("x-request-id"))
  if new_status == nil then return end
  headers:replace(":status", tostring(new_status))
  headers:replace("content-type", "application/json")
  headers:replace("content-length", tostring(#new_body))
  body:setBytes(new_body)
end

return M
