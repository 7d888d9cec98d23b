import VLCore
