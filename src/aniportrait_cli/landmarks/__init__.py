"""Everything between pixels and the motion representation, shared by both engines.

Modules (import them directly; this package imports nothing heavy on its own):

    extractor       MediaPipe face landmarker: reference faces, video tracking (`FaceLandmarkExtractor`,
                    `detect_reference_face`, `track_video`)
    face_geometry   canonical metric face mesh from the packaged model, MediaPipe's face-geometry step
    protobuf_wire   minimal protobuf wire-format reader for the geometry metadata
    projection      Euler angles / pose matrices, projection of mesh + pose to pixels (conformance case 05)
    drawing         pose images: the 114 landmark edges drawn bit-exact with the original
    reference       square head-and-shoulders crop of any portrait, feathered paste-back
    motion_tools    `Motion` from offsets / meshes / a driving video; `Motion` -> pose images
    edit_pose       pose templates (.npy), pose sources and edits, template extraction, preview frames
    pose_track      damping, smoothing, resampling and tiling of pose tracks
"""
