#!/usr/bin/env python3
"""Prompt strings of the official Video-LLaMA conversation code, for VLTokenizer's Conversation tests.

Runs the official `SeparatorStyle`, `Conversation`, `default_conversation`, `conv_llava_llama_2`,
`Chat.ask` and the upload messages of `Chat.upload_video` / `upload_video_without_audio` /
`upload_img` from video_llama/conversation/conversation_video.py. Only those definitions are
executed (taken from the file with `ast`, unmodified), because importing the module pulls in the
whole model stack; `Chat.answer`'s conversation steps (`append_message(roles[1], None)`, then the
answer stored in the last message) are done here as it does them, with fixed answer texts.

Run: python3 Fixtures/generation/generate_conversations.py [/work/Video-LLaMA] > Fixtures/generation/conversations.json
"""
import ast
import dataclasses
import json
import sys
from enum import Enum, auto
from typing import Any, List

root = sys.argv[1] if len(sys.argv) > 1 else "/work/Video-LLaMA"
path = f"{root}/video_llama/conversation/conversation_video.py"
tree = ast.parse(open(path).read())
wanted = {"SeparatorStyle", "Conversation", "default_conversation", "conv_llava_llama_2", "Chat"}
nodes = [n for n in tree.body if (isinstance(n, ast.ClassDef) and n.name in wanted)
         or (isinstance(n, ast.Assign) and any(getattr(t, "id", None) in wanted for t in n.targets))]
namespace = {"dataclasses": dataclasses, "Enum": Enum, "auto": auto, "List": List, "Tuple": tuple, "Any": Any}
exec(compile(ast.Module(body=nodes, type_ignores=[]), path, "exec"), namespace)
Chat = namespace["Chat"]

# The upload messages, read from the official methods' source (string constants).
upload_av = next(n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                 and n.value.startswith("Close your eyes"))
timestamps = "The video contains 8 frames sampled at 0.0, 0.8, 1.6, 2.5, 3.3, 4.1, 4.9, 5.8 seconds. "
video_msg = "<Video><ImageHere></Video> " + timestamps
image_msg = "<Image><ImageHere></Image> "


def chat(template, system, upload, turns):
    conv = namespace[template].copy()
    conv.system = system
    if upload == "av":
        conv.system = ""  # Chat.upload_video with sound
        conv.append_message(conv.roles[0], upload_av)
    elif upload == "video":
        conv.append_message(conv.roles[0], video_msg)
    elif upload == "image":
        conv.append_message(conv.roles[0], image_msg)
    prompts = []
    for question, answer in turns:
        Chat.ask(None, question, conv)
        conv.append_message(conv.roles[1], None)
        prompts.append(conv.get_prompt())
        conv.messages[-1][1] = answer
    return prompts


image_system = "You are able to understand the visual content that the user provides. Follow the instructions carefully and explain your answers in detail."
turns = [("What is happening in the video?", "A clock ticks."), ("What do you hear?", "A tone at 440 Hz.")]
cases = []
for template in ("default_conversation", "conv_llava_llama_2"):
    for upload, system in (("av", ""), ("video", ""), ("image", image_system), ("none", namespace[template].system)):
        cases.append({"template": "vicuna" if template == "default_conversation" else "llama2", "upload": upload,
                      "system": system, "turns": [list(t) for t in turns], "prompts": chat(template, system, upload, turns)})
print(json.dumps({"generator": "Fixtures/generation/generate_conversations.py", "audio_video_message": upload_av,
                  "audio_video_message_length": len(upload_av), "timestamps": timestamps, "cases": cases}, indent=1))
