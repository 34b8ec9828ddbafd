// The example's settings, filled in by examples/build.mjs from the environment it runs in.
export const flagship = {
  envId: process.env.FLAGSHIP_ENV_ID,
  apiKey: process.env.FLAGSHIP_API_KEY,
  // Unset: AB Tasty's hosts. Set to the local emulator's origin (./run demo) to try it offline.
  endpoints: process.env.FLAGSHIP_EMULATOR && {
    decision: process.env.FLAGSHIP_EMULATOR,
    events: process.env.FLAGSHIP_EMULATOR,
  },
};

export const segmentWriteKey = process.env.SEGMENT_WRITE_KEY;
