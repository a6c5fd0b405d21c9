// yuyin web page: upload → transcript with a synced player, and live microphone streaming.
// Plain JavaScript served by the yuyin server itself: no build step, no CDN.
"use strict";

const TEXT = {
  en: {
    tagline: "Speech to text, on your own machine.", tabFile: "File", tabLive: "Live",
    settings: "Settings", model: "Model", language: "Language", detect: "Detect",
    task: "Task", taskTranscribe: "Transcribe", taskTranslate: "Translate to English",
    wordTimestamps: "Word timestamps", apiKey: "API key",
    dropTitle: "Drop an audio or video file here", dropHint: "or click to choose one",
    transcribeLink: "Transcribe link", fetching: "Downloading and transcribing…",
    download: "Download", start: "Start", stop: "Stop",
    analysis: "Analysis: waveform and mel spectrogram",
    footer: "Runs locally with Whisper (faster-whisper). Nothing leaves this server.",
    uploading: "Uploading…", transcribing: "Transcribing…", done: "Done",
    listening: "Listening…", stopped: "Stopped", noMic: "No microphone is available.",
    meta: (t) => `${t.language} · ${t.duration.toFixed(1)} s · ${t.segments.length} segments · ${t.model}`,
  },
  "zh-Hant": {
    tagline: "在你自己的電腦上把語音轉成文字。", tabFile: "檔案", tabLive: "即時",
    settings: "設定", model: "模型", language: "語言", detect: "自動偵測",
    task: "任務", taskTranscribe: "轉寫", taskTranslate: "翻譯成英文",
    wordTimestamps: "逐字時間戳記", apiKey: "API 金鑰",
    dropTitle: "把音訊或影片檔拖曳到這裡", dropHint: "或點一下選擇檔案",
    transcribeLink: "轉寫連結", fetching: "下載並轉寫中…",
    download: "下載", start: "開始", stop: "停止",
    analysis: "分析：波形與梅爾頻譜",
    footer: "使用 Whisper（faster-whisper）在本機執行，資料不會離開這台伺服器。",
    uploading: "上傳中…", transcribing: "轉寫中…", done: "完成",
    listening: "聆聽中…", stopped: "已停止", noMic: "找不到麥克風。",
    meta: (t) => `${t.language} · ${t.duration.toFixed(1)} 秒 · ${t.segments.length} 段 · ${t.model}`,
  },
};

const $ = (id) => document.getElementById(id);
let ui = localStorage.getItem("yuyin.ui") || (navigator.language.startsWith("zh") ? "zh-Hant" : "en");
let lastTranscript = null;
const downloadUrls = [];

function t(key) { return TEXT[ui][key]; }

function applyLanguage() {
  document.documentElement.lang = ui === "en" ? "en" : "zh-Hant";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $("ui-lang").textContent = ui === "en" ? "繁體中文" : "English";
  if (lastTranscript) $("meta").textContent = t("meta")(lastTranscript);
}

function clock(seconds) {
  const m = Math.floor(seconds / 60), s = seconds - 60 * m;
  return `${String(m).padStart(2, "0")}:${s.toFixed(1).padStart(4, "0")}`;
}

function authHeaders() {
  const key = $("api-key").value.trim();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

function showError(target, message) {
  const el = $(target);
  el.textContent = message;
  el.hidden = !message;
}

async function loadConfig() {
  const config = await (await fetch("/api/config")).json();
  for (const name of config.models) {
    const option = new Option(name, name, name === config.default_model, name === config.default_model);
    $("model").add(option);
  }
  const preferred = ui === "en" ? "" : "zh-TW";
  for (const [code, name] of Object.entries(config.languages)) {
    $("language").add(new Option(`${name} (${code})`, code, false, code === preferred));
  }
  $("api-key-row").hidden = !config.api_key_required;
  $("url-form").hidden = !config.url_input;
  $("api-key").value = localStorage.getItem("yuyin.key") || "";
}

// --- file tab -------------------------------------------------------------------------------

// `source` is a File, or a URL string the server downloads (when it allows URLs).
function upload(source) {
  const isUrl = typeof source === "string";
  showError("error", "");
  $("result").hidden = true;
  $("progress").hidden = false;
  $("progress-bar").value = 0;
  $("progress-text").textContent = t(isUrl ? "fetching" : "uploading");
  const form = new FormData();
  form.append(isUrl ? "url" : "file", source);
  form.append("model", $("model").value);
  form.append("language", $("language").value);
  form.append("task", $("task").value);
  form.append("word_timestamps", $("word-timestamps").checked ? "true" : "false");
  localStorage.setItem("yuyin.key", $("api-key").value);

  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/transcribe");
  for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) $("progress-bar").value = (100 * e.loaded) / e.total;
  };
  xhr.upload.onload = () => {
    $("progress-bar").removeAttribute("value"); // indeterminate while the model works
    $("progress-text").textContent = t("transcribing");
  };
  xhr.onload = () => {
    $("progress").hidden = true;
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON: reported below */ }
    if (xhr.status !== 200 || !body || !body.transcript) {
      showError("error", (body && body.error && body.error.message) || `HTTP ${xhr.status}`);
      return;
    }
    render(source, body);
  };
  xhr.onerror = () => { $("progress").hidden = true; showError("error", "network error"); };
  xhr.send(form);
}

function render(source, body) {
  const transcript = body.transcript;
  lastTranscript = transcript;
  const file = typeof source === "string" ? null : source;
  // A linked page (YouTube) cannot play in a media element; a direct media link can.
  const name = file ? file.name : new URL(source).pathname.split("/").pop() || "transcript";
  const playable = file || /\.(mp3|m4a|wav|ogg|oga|opus|flac|webm|mp4|mov|mkv)$/i.test(name);
  const video = file ? file.type.startsWith("video/") : /\.(webm|mp4|mov|mkv)$/i.test(name);
  let player = $("player");
  if ((player.tagName === "VIDEO") !== video) {
    const fresh = document.createElement(video ? "video" : "audio");
    fresh.id = "player"; fresh.controls = true;
    player.replaceWith(fresh); player = fresh;
    player.addEventListener("timeupdate", follow);
  }
  if (player.src.startsWith("blob:")) URL.revokeObjectURL(player.src);
  if (playable) player.src = file ? URL.createObjectURL(file) : source;
  else player.removeAttribute("src");
  player.parentElement.hidden = !playable;

  downloadUrls.splice(0).forEach((url) => URL.revokeObjectURL(url));
  const stem = name.replace(/\.[^.]+$/, "") || "transcript";
  for (const [fmt, content] of Object.entries(body.formats)) {
    const url = URL.createObjectURL(new Blob([content], { type: "text/plain;charset=utf-8" }));
    downloadUrls.push(url);
    const link = $(`dl-${fmt}`);
    link.href = url;
    link.download = `${stem}.${fmt}`;
  }
  $("meta").textContent = t("meta")(transcript);

  const list = $("segments");
  list.replaceChildren();
  for (const seg of transcript.segments) {
    const item = document.createElement("li");
    item.dataset.start = seg.start; item.dataset.end = seg.end;
    const time = document.createElement("button");
    time.className = "time"; time.type = "button";
    time.textContent = clock(seg.start);
    time.setAttribute("aria-label", `Play from ${clock(seg.start)}`);
    time.onclick = () => seek(seg.start);
    const text = document.createElement("span");
    text.className = "text";
    if (seg.words.length) {
      for (const w of seg.words) {
        const span = document.createElement("span");
        span.className = "word"; span.textContent = w.word;
        span.dataset.start = w.start; span.dataset.end = w.end;
        span.onclick = () => seek(w.start);
        text.append(span);
      }
    } else {
      text.textContent = seg.text;
    }
    item.append(time, text);
    list.append(item);
  }
  $("result").hidden = false;
  if (file) analyse(file);
  else $("analysis").hidden = true;
}

// The picture needs the server's `audio` extra; without it the section just stays hidden.
async function analyse(file) {
  $("analysis").hidden = true;
  const form = new FormData();
  form.append("file", file);
  const reply = await fetch("/api/analysis", { method: "POST", body: form, headers: authHeaders() });
  if (!reply.ok) return;
  const img = $("analysis-img");
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(await reply.blob());
  $("analysis").hidden = false;
}

function seek(seconds) {
  const player = $("player");
  player.currentTime = seconds;
  player.play().catch(() => { /* autoplay may be blocked: seeking still works */ });
}

function follow() {
  const now = $("player").currentTime;
  document.querySelectorAll("#segments .current").forEach((el) => el.classList.remove("current"));
  for (const el of document.querySelectorAll("#segments li, #segments .word")) {
    if (now >= Number(el.dataset.start) && now < Number(el.dataset.end)) el.classList.add("current");
  }
}

// --- live tab -------------------------------------------------------------------------------

let live = null;

async function startLive() {
  showError("live-error", "");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (_) {
    showError("live-error", t("noMic"));
    return;
  }
  const params = new URLSearchParams({ model: $("model").value, language: $("language").value });
  const key = $("api-key").value.trim();
  if (key) params.set("api_key", key);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/v1/audio/stream?${params}`);
  socket.binaryType = "arraybuffer";
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  const processor = context.createScriptProcessor(4096, 1, 1);
  const ratio = context.sampleRate / 16000;
  processor.onaudioprocess = (event) => {
    const input = event.inputBuffer.getChannelData(0);
    let peak = 0;
    const out = new Int16Array(Math.floor(input.length / ratio));
    for (let i = 0; i < out.length; i++) {
      const v = Math.max(-1, Math.min(1, input[Math.floor(i * ratio)]));
      peak = Math.max(peak, Math.abs(v));
      out[i] = v * 32767;
    }
    $("level").value = peak;
    if (socket.readyState === WebSocket.OPEN) socket.send(out.buffer);
  };
  source.connect(processor);
  processor.connect(context.destination);
  socket.onmessage = (message) => onLiveEvent(JSON.parse(message.data));
  socket.onerror = () => showError("live-error", "WebSocket error");
  socket.onclose = () => stopAudio();
  $("live-committed").textContent = ""; $("live-partial").textContent = "";
  $("live-status").textContent = t("listening");
  $("live-start").disabled = true; $("live-stop").disabled = false;
  live = { stream, socket, context, processor };
}

function onLiveEvent(event) {
  if (event.type === "error") { showError("live-error", event.message); return; }
  if (event.type === "partial") { $("live-partial").textContent = event.text; return; }
  if (event.type === "committed" || event.type === "final") {
    const shown = $("live-committed").textContent;
    // Event texts are trimmed: put a space back between words, never between CJK characters.
    const cjk = /[\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]/;
    const gap = shown && event.text && !(cjk.test(shown.slice(-1)) && cjk.test(event.text[0]));
    $("live-committed").textContent += (gap ? " " : "") + event.text;
    $("live-partial").textContent = "";
  }
}

function stopAudio() {
  if (!live) return;
  live.processor.disconnect();
  live.stream.getTracks().forEach((track) => track.stop());
  live.context.close();
  $("level").value = 0;
  $("live-start").disabled = false; $("live-stop").disabled = true;
  $("live-status").textContent = t("stopped");
}

function stopLive() {
  if (!live) return;
  const { socket } = live;
  stopAudio();
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "end" }));
  live = null;
}

// --- wiring ---------------------------------------------------------------------------------

function selectTab(name) {
  for (const tab of ["file", "live"]) {
    $(`tab-${tab}`).setAttribute("aria-selected", String(tab === name));
    $(`panel-${tab}`).hidden = tab !== name;
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  applyLanguage();
  $("ui-lang").onclick = () => {
    ui = ui === "en" ? "zh-Hant" : "en";
    localStorage.setItem("yuyin.ui", ui);
    applyLanguage();
  };
  $("tab-file").onclick = () => selectTab("file");
  $("tab-live").onclick = () => selectTab("live");
  $("file").onchange = (e) => { if (e.target.files.length) upload(e.target.files[0]); };
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault(); drop.classList.remove("over");
    if (e.dataTransfer.files.length) upload(e.dataTransfer.files[0]);
  });
  $("url-form").onsubmit = (e) => { e.preventDefault(); upload($("url").value.trim()); };
  $("player").addEventListener("timeupdate", follow);
  $("live-start").onclick = startLive;
  $("live-stop").onclick = stopLive;
  await loadConfig();
});
