"""Jobs: each command's flow from inputs to the muxed video, joining the stages. The CLI only calls these."""
